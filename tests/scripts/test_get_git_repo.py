"""get-git-repo and its probe resolve-git-ref, against real git repositories the
tests create on disk (bare and non-bare, file:// URLs and plain paths)."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, store_entries

GIT_ENV = {
    "GIT_AUTHOR_NAME": "cmx test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "cmx test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, **GIT_ENV)
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def commit(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("commit", "-q", "-m", f"{name}={text}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, Path]:
    """A bare repository (the 'remote') and a working clone that pushes to it."""
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    work = tmp_path / "work"
    git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    git("checkout", "-q", "-b", "main", cwd=work)
    return bare, work


def run_git_repo(cmx, *args: str):
    res = cmx("run", "script", *args, "-j", "-q")
    assert res.code == 0, res.err
    return res.json


def alias_entries(home: Path, alias: str) -> list[Path]:
    import json

    return [p for p in store_entries(home) if json.loads((p / "cmx-entry.json").read_text())["alias"] == alias]


def test_moved_branch_gives_a_new_entry_and_an_unmoved_one_a_hit(cmx, home, origin):
    bare, work = origin
    url = f"file://{bare}"
    c1 = commit(work, "f.txt", "one")
    git("push", "-q", "origin", "main", cwd=work)

    first = run_git_repo(cmx, "--tags=get,git,repo,_branch.main", f"--url={url}")
    env = first["new_env"]
    assert env["CMX_GIT_COMMIT"] == c1
    assert env["CMX_GIT_BRANCH"] == "main" and env["CMX_GIT_REF"] == "refs/heads/main"
    checkout = Path(env["CMX_GIT_CHECKOUT_PATH"])
    assert checkout.parent == Path(first["cache_path"])  # published in the entry, not in the build folder
    assert (checkout / "f.txt").read_text() == "one"
    assert git("rev-parse", "HEAD", cwd=checkout) == c1
    record = first["new_state"]["git_repo"][url]
    assert record["commit"] == c1 and record["requested"] == "branch main" and record["resolved_by"] == "git ls-remote"
    # the resolved commit is in the entry's provenance on disk too
    assert c1 in (Path(first["cache_path"]) / "cmx-entry.json").read_text()

    again = run_git_repo(cmx, "--tags=get,git,repo,_branch.main", f"--url={url}")
    assert again["cached"] is True and again["cache_path"] == first["cache_path"]

    c2 = commit(work, "f.txt", "two")
    git("push", "-q", "origin", "main", cwd=work)
    moved = run_git_repo(cmx, "--tags=get,git,repo,_branch.main", f"--url={url}")
    assert moved["cached"] is False
    assert moved["new_env"]["CMX_GIT_COMMIT"] == c2
    assert moved["cache_path"] != first["cache_path"]
    assert (Path(moved["new_env"]["CMX_GIT_CHECKOUT_PATH"]) / "f.txt").read_text() == "two"
    # the old entry is intact: each entry holds exactly its commit
    assert (checkout / "f.txt").read_text() == "one"
    assert len(alias_entries(home, "get-git-repo")) == 2


def test_default_branch_of_a_plain_local_path(cmx, tmp_path):
    repo = tmp_path / "plain"
    git("init", "-q", "-b", "trunk", str(repo), cwd=tmp_path)
    c1 = commit(repo, "a.txt", "a")
    out = run_git_repo(cmx, "--tags=get,git,repo", f"--url={repo}")
    env = out["new_env"]
    assert env["CMX_GIT_COMMIT"] == c1
    assert env["CMX_GIT_BRANCH"] == "trunk" and env["CMX_GIT_REF"] == "refs/heads/trunk"
    assert env["CMX_GIT_URL"] == str(repo)
    assert out["new_state"]["git_repo"][str(repo)]["requested"] == "default branch"
    assert (Path(env["CMX_GIT_CHECKOUT_PATH"]) / "a.txt").read_text() == "a"


def test_repo_variation_and_folder_input(cmx, origin):
    bare, work = origin
    c1 = commit(work, "f.txt", "one")
    git("push", "-q", "origin", "main", cwd=work)
    out = run_git_repo(cmx, f"--tags=get,git,repo,_repo.file://{bare}", "--folder=src")
    assert out["new_env"]["CMX_GIT_COMMIT"] == c1
    assert Path(out["new_env"]["CMX_GIT_CHECKOUT_PATH"]).name == "src"


def test_annotated_and_lightweight_tags(cmx, origin):
    bare, work = origin
    url = f"file://{bare}"
    c1 = commit(work, "f.txt", "one")
    git("tag", "-a", "v1.0", "-m", "release", cwd=work)
    git("tag", "light", cwd=work)
    commit(work, "f.txt", "two")
    git("push", "-q", "--tags", "origin", "main", cwd=work)
    for tag in ("v1.0", "light"):
        env = run_git_repo(cmx, f"--tags=get,git,repo,_tag.{tag}", f"--url={url}")["new_env"]
        assert env["CMX_GIT_COMMIT"] == c1, tag  # an annotated tag is peeled to its commit
        assert env["CMX_GIT_TAG"] == tag and env["CMX_GIT_REF"] == f"refs/tags/{tag}"
        assert (Path(env["CMX_GIT_CHECKOUT_PATH"]) / "f.txt").read_text() == "one"


def test_sha_needs_no_probe_and_takes_abbreviations(cmx, origin):
    bare, work = origin
    url = f"file://{bare}"
    c1 = commit(work, "f.txt", "one")
    commit(work, "f.txt", "two")
    git("push", "-q", "origin", "main", cwd=work)
    plan = cmx("run", "script", f"--tags=get,git,repo,_sha.{c1}", f"--url={url}", "--dry-run", "-j").json["plan"]
    assert [n["recipe"] for n in plan] == ["get-git-repo"]  # a given commit is not resolved
    full = run_git_repo(cmx, f"--tags=get,git,repo,_sha.{c1}", f"--url={url}")
    assert full["new_env"]["CMX_GIT_COMMIT"] == c1
    assert full["new_state"]["git_repo"][url]["resolved_by"] == "given sha"
    assert (Path(full["new_env"]["CMX_GIT_CHECKOUT_PATH"]) / "f.txt").read_text() == "one"
    short = run_git_repo(cmx, f"--tags=get,git,repo,_sha.{c1[:10]}", f"--url={url}")
    assert short["new_env"]["CMX_GIT_COMMIT"] == c1


def test_depth(cmx, origin):
    bare, work = origin
    url = f"file://{bare}"
    c1 = commit(work, "f.txt", "one")
    commit(work, "f.txt", "two")
    c3 = commit(work, "f.txt", "three")
    git("push", "-q", "origin", "main", cwd=work)

    shallow = run_git_repo(cmx, "--tags=get,git,repo,_branch.main,_depth.1", f"--url={url}")["new_env"]
    assert shallow["CMX_GIT_COMMIT"] == c3 and shallow["CMX_GIT_DEPTH"] == "1"
    assert git("rev-list", "--count", "HEAD", cwd=Path(shallow["CMX_GIT_CHECKOUT_PATH"])) == "1"
    full = run_git_repo(cmx, "--tags=get,git,repo,_branch.main", f"--url={url}")["new_env"]
    assert git("rev-list", "--count", "HEAD", cwd=Path(full["CMX_GIT_CHECKOUT_PATH"])) == "3"
    # an older commit, fetched alone by its sha
    old = run_git_repo(cmx, f"--tags=get,git,repo,_sha.{c1},_depth.1", f"--url={url}")["new_env"]
    assert old["CMX_GIT_COMMIT"] == c1
    assert git("rev-list", "--count", "HEAD", cwd=Path(old["CMX_GIT_CHECKOUT_PATH"])) == "1"
    # a plain local path honours the depth too (git ignores --depth for local paths; file:// is used)
    local = run_git_repo(cmx, "--tags=get,git,repo,_depth.2", f"--url={work}")["new_env"]
    assert git("rev-list", "--count", "HEAD", cwd=Path(local["CMX_GIT_CHECKOUT_PATH"])) == "2"


def test_submodules(cmx, tmp_path):
    sub = tmp_path / "libsub"
    git("init", "-q", "-b", "main", str(sub), cwd=tmp_path)
    sub_commit = commit(sub, "s.txt", "from the submodule")
    sup = tmp_path / "super"
    git("init", "-q", "-b", "main", str(sup), cwd=tmp_path)
    commit(sup, "top.txt", "top")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "deps/libsub", cwd=sup)
    git("commit", "-q", "-m", "add submodule", cwd=sup)

    out = run_git_repo(cmx, "--tags=get,git,repo,_submodules", f"--url={sup}")
    checkout = Path(out["new_env"]["CMX_GIT_CHECKOUT_PATH"])
    assert (checkout / "deps/libsub/s.txt").read_text() == "from the submodule"
    assert out["new_env"]["CMX_GIT_SUBMODULES"] == "yes"
    assert out["new_state"]["git_repo"][str(sup)]["submodules"] == [{"path": "deps/libsub", "commit": sub_commit}]
    # the checkout still works after the build folder was renamed into the cache
    assert git("status", "--porcelain", cwd=checkout) == ""
    assert git("rev-parse", "HEAD", cwd=checkout / "deps/libsub") == sub_commit

    without = run_git_repo(cmx, "--tags=get,git,repo", f"--url={sup}")
    plain = Path(without["new_env"]["CMX_GIT_CHECKOUT_PATH"])
    assert (plain / "top.txt").exists() and not (plain / "deps/libsub/s.txt").exists()
    assert without["cache_path"] != out["cache_path"]


def test_errors_are_clear(cmx, home, origin, tmp_path):
    bare, work = origin
    commit(work, "f.txt", "one")
    git("push", "-q", "origin", "main", cwd=work)
    missing = f"file://{tmp_path}/no-such-repo.git"
    res = cmx("run", "script", "--tags=get,git,repo", f"--url={missing}")
    assert res.code == 1
    assert f"cannot read git repository {missing}" in res.err and "Traceback" not in res.err

    res = cmx("run", "script", "--tags=get,git,repo,_branch.nope", f"--url=file://{bare}")
    assert res.code == 1 and f"branch 'nope' not found in file://{bare}" in res.err

    res = cmx("run", "script", "--tags=get,git,repo,_tag.v9", f"--url=file://{bare}")
    assert res.code == 1 and "tag 'v9' not found" in res.err

    absent = "0123456789abcdef0123456789abcdef01234567"
    res = cmx("run", "script", f"--tags=get,git,repo,_sha.{absent}", f"--url=file://{bare}")
    assert res.code == 1 and f"commit {absent} not found in file://{bare}" in res.err

    res = cmx("run", "script", "--tags=get,git,repo")
    assert res.code == 1 and "no git repository URL" in res.err

    res = cmx("run", "script", "--tags=get,git,repo,_depth.0", f"--url=file://{bare}")
    assert res.code == 1 and "depth must be a whole number" in res.err
    assert alias_entries(home, "get-git-repo") == []  # nothing was published


def _load_customize():
    path = ROOT / "scripts" / "get-git-repo" / "customize.py"
    spec = importlib.util.spec_from_file_location("get_git_repo_customize", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("depth", [None, 1])
def test_checkout_holds_the_resolved_commit_even_if_the_branch_moved_meanwhile(origin, tmp_path, depth):
    """The race between resolving (which keyed the entry) and cloning: the recipe's own
    checkout function, run on a real repository whose branch is already past the commit."""
    bare, work = origin
    c1 = commit(work, "f.txt", "one")
    commit(work, "f.txt", "two")
    git("push", "-q", "origin", "main", cwd=work)
    mod = _load_customize()
    url = f"file://{bare}"
    dest = tmp_path / f"checkout-{depth}"
    repo = mod.checkout_ref(url, url, str(dest), c1, "main", "", depth, logging.getLogger("test"))
    assert git("rev-parse", "HEAD", cwd=dest) == c1
    assert (dest / "f.txt").read_text() == "one"
    assert repo.active_branch.name == "main"


def test_meta_tests_pass(cmx):
    for alias in ("get-git-repo", "resolve-git-ref"):
        res = cmx("test", "script", alias)
        assert res.code == 0, res.out + res.err
