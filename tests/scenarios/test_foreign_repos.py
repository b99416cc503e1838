"""A registered repository in CM/MLC's shape never breaks what worked before it was added (issue 11,
"Repositories"), and repos.yaml survives concurrent registrations (issue 10, Medium #11).

The fixture repository is written here, in the layout of MLCommons' repositories (``cmr.yaml``,
``script/<alias>/meta.yaml``), with the shapes that broke cmx: its own ``detect-os`` whose
Windows-only post-dependency needs ``detect,os`` again (a cycle when the foreign recipe shadowed the
built-in one), a recipe cmx cannot read (a list where a boolean is meant, which even CM's loose typing
cannot read) carrying the tags of
a built-in recipe, and a uid that clashes with another recipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import run_cmx

CM_REPO = {
    "cmr.yaml": "alias: cmfix\ngit: true\n",
    "script/detect-os/meta.yaml": """
        alias: detect-os
        uid: 0c1d2e3f4a5b6c7d
        automation_alias: script
        tags: [detect-os, detect, os, info]
        cache: true
        new_env_keys: [CMFIX_HOST_OS_*]
        post_deps:
          - tags: get,sys-utils-min
            enable_if_env:
              CMFIX_HOST_OS_TYPE: [windows]
        """,
    "script/detect-os/run.sh": 'echo ran > "$CMFIX_MARK"\necho CMFIX_HOST_OS_TYPE=linux >> tmp-run-env.out\n',
    "script/get-sys-utils-min/meta.yaml": """
        alias: get-sys-utils-min
        uid: 1a2b3c4d5e6f7a8b
        tags: [get, sys-utils-min]
        deps:
          - tags: detect,os
        """,
    # unreadable for cmx (a list for a boolean), with the tags of a built-in recipe
    "script/print-hello-world/meta.yaml": """
        alias: print-hello-world
        uid: 2b3c4d5e6f7a8b9c
        tags: [print, hello-world, hello, world]
        cache: [on, off]
        """,
    "script/uid-twin/meta.yaml": "alias: uid-twin\nuid: 1a2b3c4d5e6f7a8b\ntags: [uid-twin, 検出]\n",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(body).lstrip("\n"))
    return root


@pytest.fixture
def cm_repo(tmp_path: Path) -> Path:
    return _write(tmp_path / "cm-shaped", CM_REPO)


def _builtin_uids(cmx) -> set[str]:
    return {r["uid"] for r in cmx("find", "script", "--tags=builtin:", "-j").json["list"]}


def test_a_cm_shaped_repository_does_not_change_the_builtins(cm_repo, cmx, tmp_path):
    env = {"CMFIX_MARK": str(tmp_path / "foreign-detect-os-ran")}
    builtin = _builtin_uids(cmx)
    added = cmx("add", "repo", str(cm_repo))
    assert added.code == 0 and "registered cmfix" in added.out, added.err
    # detect,os plans and runs the built-in recipe, not the registered one
    plan = cmx("run", "script", "--tags=detect,os", "--dry-run", "-j", env=env).json["plan"]
    assert [n["uid"] for n in plan] == ["863735b7db8c44fc"] and plan[0]["uid"] in builtin
    assert cmx("run", "script", "--tags=detect,os", "-j", env=env).code == 0
    assert not (tmp_path / "foreign-detect-os-ran").exists()
    # print,hello-world: the foreign copy is broken, the built-in still plans and runs
    plan = cmx("run", "script", "--tags=print,hello-world", "--dry-run", "-j", env=env).json["plan"]
    assert {n["uid"] for n in plan} <= builtin
    res = cmx("run", "script", "--tags=print,hello-world", "-j", env=env)
    assert res.code == 0, res.err
    # the FlexBench _noop dry run and the submission flow plan built-in recipes only
    for tags in ("run,flexbench,_noop", "run,mlperf,flexbench,_submission"):
        res = cmx("run", "script", f"--tags={tags}", "--dry-run", "-j", env=env)
        assert res.code == 0, res.err
        assert {n["uid"] for n in res.json["plan"]} <= builtin


def test_find_shows_the_repository_of_each_match_and_the_broken_recipes(cm_repo, cmx):
    assert cmx("add", "repo", str(cm_repo)).code == 0
    found = cmx("find", "script", "--tags=detect,os", "-j").json["list"]
    assert [(r["alias"], r["repo"]) for r in found] == [("detect-os", "builtin"), ("detect-os", "cmfix")]
    text = cmx("find", "script", "--tags=detect,os").out.splitlines()
    assert text[0].split()[:2] == ["detect-os", "builtin"] and text[1].split()[:2] == ["detect-os", "cmfix"]
    res = cmx("find", "script", "--tags=print,hello-world")
    assert "broken recipe matches" in res.err  # never silent
    broken = cmx("find", "script", "--show-broken")
    assert broken.code == 0
    meta = cm_repo / "script" / "print-hello-world" / "meta.yaml"
    assert f"broken: print-hello-world (cmfix): {meta}:4: cache: expected boolean" in broken.out, \
        broken.out
    assert "duplicate uid 1a2b3c4d5e6f7a8b" in broken.out
    as_json = cmx("find", "script", "--show-broken", "-j").json
    assert [b["alias"] for b in as_json["broken"]] == ["print-hello-world"]


def test_a_repository_qualifier_selects_a_foreign_recipe_and_never_substitutes(cm_repo, cmx, tmp_path):
    env = {"CMFIX_MARK": str(tmp_path / "foreign-detect-os-ran")}
    assert cmx("add", "repo", str(cm_repo)).code == 0
    plan = cmx("run", "script", "cmfix:detect-os", "--dry-run", "-j", env=env).json["plan"]
    assert plan[-1]["uid"] == "0c1d2e3f4a5b6c7d"  # no dependency cycle: its dependency's detect,os is the built-in
    plan = cmx("run", "script", "--tags=cmfix:detect,os", "--dry-run", "-j", env=env).json["plan"]
    assert plan[-1]["uid"] == "0c1d2e3f4a5b6c7d"
    assert cmx("run", "script", "--tags=cmfix:detect,os", "-j", env=env).code == 0
    assert (tmp_path / "foreign-detect-os-ran").exists()
    # the one asked for is broken: an error naming it, not the built-in print-hello-world
    for args in (["cmfix:print-hello-world"], ["--tags=cmfix:print,hello-world"]):
        res = cmx("run", "script", *args)
        assert res.code == 2, res.err
        assert "print-hello-world/meta.yaml:4: cache: expected boolean" in res.err
        assert "Hello" not in res.out
    res = cmx("run", "script", "--tags=nosuch:detect,os")
    assert res.code == 2 and "no repository named 'nosuch' (known: builtin, cmfix)" in res.err


def test_a_uid_declared_twice_is_an_error_naming_both_files(cm_repo, cmx):
    assert cmx("add", "repo", str(cm_repo)).code == 0
    res = cmx("run", "script", "1a2b3c4d5e6f7a8b", "--dry-run")
    assert res.code == 2
    for alias in ("get-sys-utils-min", "uid-twin"):
        assert str(cm_repo / "script" / alias / "meta.yaml") in res.err, res.err
    assert cmx("show", "script", "cmfix:uid-twin").code == 0


def test_unicode_tags_are_selectable_in_any_normal_form(cm_repo, cmx):
    assert cmx("add", "repo", str(cm_repo)).code == 0
    for text in ("検出", unicodedata.normalize("NFD", "検出")):
        found = cmx("find", "script", f"--tags={text}", "-j").json["list"]
        assert [r["alias"] for r in found] == ["uid-twin"]
    assert cmx("run", "script", "--tags=検出", "-j").code == 0


def test_rm_repo_unregisters_and_keeps_the_folder(cm_repo, cmx, home):
    assert cmx("add", "repo", str(cm_repo)).code == 0
    res = cmx("rm", "repo", "cmfix")
    assert res.code == 0 and "unregistered cmfix" in res.out, res.err
    assert (cm_repo / "script" / "detect-os" / "meta.yaml").is_file()
    assert [r["alias"] for r in cmx("list", "repo", "-j").json["list"]] == ["builtin"]
    assert [r["repo"] for r in cmx("find", "script", "--tags=detect,os", "-j").json["list"]] == ["builtin"]
    res = cmx("rm", "repo", "cmfix")
    assert res.code == 2 and "no registered repository named 'cmfix'" in res.err
    assert cmx("rm", "repo", "builtin").code == 2


def _git_repo(path: Path, files: dict[str, str]):
    import git

    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t")
        cw.set_value("user", "email", "t@example.org")
    _write(path, files)
    repo.git.add("-A")
    repo.index.commit("recipes")
    return repo


def test_pull_repo_without_a_url_updates_every_registered_git_repo(cmx, tmp_path):
    one = _git_repo(tmp_path / "one", {"scripts/a/meta.yaml": "alias: a\ntags: [from-one]\n"})
    two = _git_repo(tmp_path / "two", {"scripts/b/meta.yaml": "alias: b\ntags: [from-two]\n"})
    plain = _write(tmp_path / "plain", {"scripts/c/meta.yaml": "alias: c\ntags: [from-plain]\n"})
    assert cmx("pull", "repo", f"file://{one.working_dir}").code == 0
    assert cmx("pull", "repo", f"file://{two.working_dir}").code == 0
    assert cmx("add", "repo", str(plain)).code == 0
    _write(Path(one.working_dir), {"scripts/a2/meta.yaml": "alias: a2\ntags: [from-one, newer]\n"})
    one.git.add("-A")
    one.index.commit("a2")
    _write(Path(two.working_dir), {"scripts/b2/meta.yaml": "alias: b2\ntags: [from-two, newer]\n"})
    two.git.add("-A")
    two.index.commit("b2")
    assert cmx("find", "script", "--tags=newer", "-j").json["list"] == []
    res = cmx("pull", "repo", "-j")
    assert res.code == 0, res.err
    rows = {r["alias"]: r for r in res.json["repos"]}
    assert rows["one"]["commit"] == one.head.commit.hexsha and rows["two"]["commit"] == two.head.commit.hexsha
    assert rows["plain"]["skipped"] == "not a git clone"
    assert sorted(r["alias"] for r in cmx("find", "script", "--tags=newer", "-j").json["list"]) == ["a2", "b2"]
    # one remote gone: the other is still updated, and the command fails naming it
    _write(Path(two.working_dir), {"scripts/b3/meta.yaml": "alias: b3\ntags: [from-two, newest]\n"})
    two.git.add("-A")
    two.index.commit("b3")
    os.rename(one.working_dir, tmp_path / "one-moved")
    res = cmx("pull", "repo")
    assert res.code == 1 and "cannot pull" in res.err and "Traceback" not in res.err, res.err
    assert [r["alias"] for r in cmx("find", "script", "--tags=newest", "-j").json["list"]] == ["b3"]


def test_concurrent_add_repo_keeps_every_registration(home, tmp_path):
    """8 `cmx add repo` at once: each read-modify-write of repos.yaml holds its lock (kept 3-6 before)."""
    paths = [_write(tmp_path / f"r{n}", {f"scripts/x{n}/meta.yaml": f"alias: x{n}\ntags: [x{n}]\n"}) for n in range(8)]
    env = dict(os.environ, CMX_HOME=str(home))
    procs = [subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "add", "repo", str(p)], env=env, cwd=home,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in paths]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    listed = run_cmx("list", "repo", "-j", home=home).json["list"]
    assert sorted(r["alias"] for r in listed) == sorted(["builtin"] + [f"r{n}" for n in range(8)])
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]
