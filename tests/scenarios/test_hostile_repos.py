"""A hostile or broken registered repository must never break the other recipes (issue 10, High #1).

Each attack is a repository written by the test: the built-in `detect,os` and the repository's own
good recipe keep working, the bad recipe is refused with a message naming its file when it is
asked for, and it is listed by `cmx find script --show-broken`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RecipeRepo

GOOD = "tags: [good, recipe]\n"

# under 500 bytes: nine levels of nine aliases each, 9**9 (387 million) strings once expanded
BOMB = "tags: [bomb]\nenv:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def _still_works(cmx, bad_selector: str) -> str:
    """The built-ins and the good recipe work; selecting the bad one is exit 2 without a traceback."""
    res = cmx("run", "script", "--tags=detect,os", "--dry-run", "-j")
    assert res.code == 0, res.err
    assert [n["recipe"] for n in res.json["plan"]] == ["detect-os"]
    res = cmx("find", "script", "--tags=good")
    assert res.code == 0 and "good" in res.out, res.err
    assert cmx("run", "script", "--tags=good,recipe", "-j").code == 0
    res = cmx("run", "script", f"--tags={bad_selector}")
    assert res.code == 2, res.err
    assert "Traceback" not in res.err and "internal error" not in res.err, res.err
    listed = cmx("find", "script", "--show-broken")
    assert listed.code == 0, listed.err
    return res.err


@pytest.fixture
def hostile(repo: RecipeRepo) -> RecipeRepo:
    repo.add("good", GOOD, "true\n")
    return repo


def test_a_symlink_loop_inside_a_recipe_breaks_only_that_recipe(hostile, cmx):
    d = hostile.add("loopy", "tags: [loopy]\n", "true\n")
    os.symlink("b", d / "a")
    os.symlink("a", d / "b")
    err = _still_works(cmx, "loopy")
    assert f"{d / 'a'}: cannot read: Too many levels of symbolic links" in err \
        or f"{d / 'b'}: cannot read: Too many levels of symbolic links" in err, err
    assert "loopy" in cmx("find", "script", "--show-broken").out


def test_a_symlink_loop_among_the_recipe_folders_is_listed_not_fatal(hostile, cmx):
    scripts = hostile.root / "scripts"
    os.symlink("zloop", scripts / "aloop")
    os.symlink("aloop", scripts / "zloop")
    _still_works(cmx, "aloop")
    listed = cmx("find", "script", "--show-broken").out
    assert "aloop" in listed and "Too many levels of symbolic links" in listed, listed


def test_a_meta_nested_500_levels_deep_is_refused_with_its_line(hostile, cmx):
    d = hostile.add("deep", "tags: [deep]\nenv:\n  X: " + "[" * 500 + "]" * 500 + "\n")
    err = _still_works(cmx, "deep")
    assert f"{d / 'meta.yaml'}:4: nested more than 64 levels deep" in err, err


def test_a_yaml_alias_bomb_is_refused_quickly_and_keeps_the_index_small(hostile, cmx, home):
    d = hostile.add("bomb", BOMB)
    assert len((d / "meta.yaml").read_bytes()) < 500
    err = _still_works(cmx, "bomb")
    assert f"{d / 'meta.yaml'}:" in err and "once YAML aliases are expanded" in err, err
    index = home / "cache" / ".index" / "recipes.pickle"
    assert index.stat().st_size < 1_000_000  # was 628 MB: the expanded bomb was stored


def test_a_non_utf8_meta_names_its_line(hostile, cmx):
    d = hostile.add("latin", "tags: [latin]\n")
    (d / "meta.yaml").write_bytes(b"alias: latin\ntags: [latin]\n# caf\xe9\n")
    err = _still_works(cmx, "latin")
    assert f"{d / 'meta.yaml'}:3: not UTF-8: byte 0xe9 at column 6" in err, err


def test_an_unreadable_meta_symlink_is_a_broken_recipe_not_a_silent_gap(hostile, cmx):
    d = hostile.root / "scripts" / "dangling"
    d.mkdir()
    os.symlink("meta.yaml", d / "meta.yaml")  # a loop onto itself
    _still_works(cmx, "dangling")
    assert "dangling" in cmx("find", "script", "--show-broken").out


def test_a_symlinked_file_outside_the_repository_is_refused(hostile, cmx, tmp_path):
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("host file\n")
    d = hostile.add("peek", "tags: [peek]\n", "true\n")
    os.symlink(secret, d / "data.txt")
    err = _still_works(cmx, "peek")
    assert f"{d / 'data.txt'}: a symlink to {secret}, outside the repository" in err, err
    # the user may allow the folder
    res = cmx("run", "script", "--tags=peek", env={"CMX_ALLOW_CODE_PATHS": str(tmp_path)})
    assert res.code == 0, res.err


def test_the_limits_are_documented():
    from cmx import index
    from cmx.meta import loader

    doc = (Path(__file__).resolve().parents[2] / "docs" / "recipe-format.md").read_text()
    for value in (f"{loader.MAX_META_DEPTH}", f"{loader.MAX_META_NODES:,}", f"{loader.MAX_META_BYTES // 1024} KiB",
                  f"{index.MAX_RECIPE_FILES:,}", index.ALLOW_ENV):
        assert value in doc, value
