"""get-git-repo --sparse: git's cone sparse checkout, on real local repositories.

The second repository lacks a blob outside the sparse folders, like the mlcommons/inference
mirror this project uses: a full checkout of it fails, a sparse one works (with a full
clone, a _depth clone through file:// and a _sha._depth fetch, which use a blob-less
partial fetch)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.scripts.test_get_git_repo import git, run_git_repo


def _repo_with_two_folders(tmp_path: Path) -> tuple[Path, str, str]:
    work = tmp_path / "work"
    (work / "keep" / "sub").mkdir(parents=True)
    (work / "big").mkdir()
    git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    (work / "top.txt").write_text("top\n")
    (work / "keep" / "sub" / "a.txt").write_text("kept\n")
    (work / "big" / "blob.bin").write_text("a large file the mirror lacks\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "two folders", cwd=work)
    bare = tmp_path / "mirror.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    blob = git("rev-parse", "HEAD:big/blob.bin", cwd=work)
    return bare, git("rev-parse", "HEAD", cwd=work), blob


def _drop_blob(bare: Path, blob: str) -> None:
    # unpack every object loose, then delete the one blob
    packs = list((bare / "objects" / "pack").glob("*.pack"))
    for pack in packs:
        data = pack.read_bytes()
        for f in pack.parent.glob(pack.stem + ".*"):
            f.unlink()
        subprocess.run(["git", "unpack-objects", "-q"], input=data, cwd=bare, check=True)
    (bare / "objects" / blob[:2] / blob[2:]).unlink()


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, str]:
    bare, head, blob = _repo_with_two_folders(tmp_path)
    _drop_blob(bare, blob)
    return bare, head


def test_sparse_checkout_of_a_complete_repository(cmx, tmp_path):
    bare, head, _ = _repo_with_two_folders(tmp_path)
    out = run_git_repo(cmx, "--tags=get,git,repo", f"--url={bare}", "--sparse=keep/sub")
    env = out["new_env"]
    co = Path(env["CMX_GIT_CHECKOUT_PATH"])
    assert (co / "keep" / "sub" / "a.txt").read_text() == "kept\n" and (co / "top.txt").is_file()
    assert not (co / "big").exists()
    assert env["CMX_GIT_SPARSE"] == "keep/sub" and env["CMX_GIT_COMMIT"] == head
    assert out["new_state"]["git_repo"][str(bare)]["sparse"] == ["keep/sub"]


def test_full_checkout_of_the_incomplete_mirror_fails_clearly(cmx, mirror):
    bare, _ = mirror
    res = cmx("run", "script", "--tags=get,git,repo", f"--url={bare}", "-j", "-q")
    assert res.code == 1 and "Traceback" not in res.err


@pytest.mark.parametrize("how", [[], ["_depth.1"], ["_sha.HEAD", "_depth.1"], ["_sha.HEAD"]])
def test_sparse_checkout_of_the_incomplete_mirror(cmx, mirror, how):
    bare, head = mirror
    tags = ",".join(["get,git,repo"] + [t.replace("HEAD", head) for t in how])
    url = f"file://{bare}" if how == ["_depth.1"] else str(bare)
    out = run_git_repo(cmx, f"--tags={tags}", f"--url={url}", "--sparse=keep/sub")
    co = Path(out["new_env"]["CMX_GIT_CHECKOUT_PATH"])
    assert (co / "keep" / "sub" / "a.txt").read_text() == "kept\n" and not (co / "big").exists()
    assert out["new_env"]["CMX_GIT_COMMIT"] == head


@pytest.mark.parametrize("bad", ["../x", "a/../b", "-x"])
def test_bad_sparse_paths_are_refused(cmx, tmp_path, bad):
    bare, _, _ = _repo_with_two_folders(tmp_path)
    res = cmx("run", "script", "--tags=get,git,repo", f"--url={bare}", f"--sparse={bad}", "-j", "-q")
    assert res.code == 1 and "--sparse" in res.err and "not a folder path" in res.err


def test_a_sparse_folder_the_commit_lacks_is_an_error_not_an_empty_checkout(cmx, tmp_path):
    bare, head, _ = _repo_with_two_folders(tmp_path)
    res = cmx("run", "script", "--tags=get,git,repo", f"--url={bare}", "--sparse=keep/sub,nowhere/here", "-j", "-q")
    assert res.code == 1 and f"--sparse: no folder nowhere/here in {bare} at {head[:12]}" in res.err
    assert "Traceback" not in res.err
