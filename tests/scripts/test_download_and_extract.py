"""download-and-extract: real archives served from 127.0.0.1, and unsafe ones
(traversal, absolute paths, escaping symlinks and hard links, devices, zip slip),
each refused with the offending member named and nothing written outside."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import store_entries
from tests.scripts.range_server import RangeServer


@pytest.fixture
def server():
    srv = RangeServer().start()
    yield srv
    srv.stop()


def make_tar(members: list[tuple], mode: str = "w:gz") -> bytes:
    """members: (name, 'file', bytes) | (name, 'dir') | (name, 'sym', target) | (name, 'hard', target) | (name, 'chr')."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, kind, *rest in members:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o644
            if kind == "file":
                ti.size = len(rest[0])
                tf.addfile(ti, io.BytesIO(rest[0]))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                       "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind == "dir":
                ti.mode = 0o755
            if rest:
                ti.linkname = rest[0]
            tf.addfile(ti)
    return buf.getvalue()


def make_zip(members: list[tuple]) -> bytes:
    """members: (name, bytes) | (name, bytes, unix_mode)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in members:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode[0] << 16
            zf.writestr(info, data)
    return buf.getvalue()


def entries_of(home: Path, alias: str) -> list[Path]:
    return [p for p in store_entries(home) if json.loads((p / "cmx-entry.json").read_text())["alias"] == alias]


def files_under(root: Path, *, but: Path | None = None) -> set[str]:
    out = {str(p) for p in root.rglob("*")}
    if but is not None:
        out = {p for p in out if p != str(but) and not p.startswith(str(but) + os.sep)}
    return out


GOOD_TREE = [("pkg", "dir"), ("pkg/a.txt", "file", b"alpha"), ("pkg/sub", "dir"),
             ("pkg/sub/b.txt", "file", b"beta"), ("pkg/link", "sym", "sub/b.txt")]


@pytest.mark.parametrize("suffix,mode", [("tar", "w"), ("tar.gz", "w:gz"), ("tar.bz2", "w:bz2"), ("tar.xz", "w:xz")])
def test_tar_formats_extract(cmx, server, suffix, mode):
    data = make_tar(GOOD_TREE, mode)
    server.files[f"/pkg.{suffix}"] = data
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url(f'/pkg.{suffix}')}",
              f"--sha256={hashlib.sha256(data).hexdigest()}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    target = Path(env["CMX_EXTRACT_PATH"])
    assert target.parent == Path(res.json["cache_path"])
    assert env["CMX_EXTRACT_FORMAT"] == suffix and env["CMX_EXTRACT_MEMBERS"] == "5"
    assert env["CMX_EXTRACT_TOP_PATH"] == str(target / "pkg")
    assert (target / "pkg/a.txt").read_text() == "alpha"
    assert os.readlink(target / "pkg/link") == "sub/b.txt" and (target / "pkg/link").read_text() == "beta"
    # the archive itself stays in download-file's entry
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert env["CMX_DOWNLOAD_SHA256"] == hashlib.sha256(data).hexdigest()


def test_zip_extracts_with_modes_and_a_second_run_is_a_hit(cmx, server):
    data = make_zip([("tool/run.sh", b"#!/bin/sh\necho hi\n", 0o100755), ("tool/README", b"readme"),
                     ("other.txt", b"x")])
    server.files["/tool.zip"] = data
    args = ("run", "script", "--tags=download-and-extract", f"--url={server.url('/tool.zip')}", "-j")
    res = cmx(*args)
    assert res.code == 0, res.err
    env = res.json["new_env"]
    target = Path(env["CMX_EXTRACT_PATH"])
    assert env["CMX_EXTRACT_FORMAT"] == "zip" and env["CMX_EXTRACT_TOP_PATH"] == str(target)  # two top entries
    assert (target / "tool/run.sh").stat().st_mode & stat.S_IXUSR
    assert not (target / "tool/README").stat().st_mode & stat.S_IXUSR
    assert (target / "other.txt").read_text() == "x"
    again = cmx(*args)
    assert again.json["cached"] is True and len(server.requests_for("/tool.zip")) == 1


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs the tar command")
def test_archive_made_by_gnu_tar_from_a_local_file(cmx, server, tmp_path):
    """An archive written by the tar command (with its './' entries), given as a local file:
    download-file uses it in place (no request) and it is extracted."""
    src = tmp_path / "tree"
    (src / "a/b").mkdir(parents=True)
    (src / "a/b/c.txt").write_text("hi")
    os.symlink("b/c.txt", src / "a/link")
    archive = tmp_path / "tree.tar.gz"
    subprocess.run(["tar", "-C", str(src), "-czf", str(archive), "."], check=True)
    data = archive.read_bytes()
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/tree.tar.gz')}",
              f"--local_path={archive}", f"--sha256={hashlib.sha256(data).hexdigest()}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    target = Path(env["CMX_EXTRACT_PATH"])
    assert (target / "a/b/c.txt").read_text() == "hi" and (target / "a/link").read_text() == "hi"
    assert env["CMX_EXTRACT_TOP_PATH"] == str(target / "a")
    assert env["CMX_DOWNLOAD_SOURCE"] == "local" and Path(env["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]) != archive  # a copy, in download-file's entry
    assert server.requests == []


def test_checksum_reaches_download_file(cmx, home, server):
    data = make_tar(GOOD_TREE)
    server.files["/pkg.tgz"] = data
    wrong = "0" * 64
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/pkg.tgz')}", f"--sha256={wrong}")
    assert res.code == 1
    assert f"checksum mismatch for pkg.tgz: expected sha256 {wrong}, got {hashlib.sha256(data).hexdigest()}" in res.err
    assert store_entries(home) == []


def test_not_an_archive(cmx, server):
    server.files["/notes.txt"] = b"just text\n" * 100
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/notes.txt')}")
    assert res.code == 1 and "notes.txt is not a tar, tar.gz, tar.bz2, tar.xz or zip archive" in res.err


def _unsafe_cases(outside: Path) -> list[tuple[str, bytes, str]]:
    """(file name, archive bytes, expected error text naming the member)."""
    return [
        ("traversal.tar.gz", make_tar([("ok.txt", "file", b"fine"), ("../../escaped.txt", "file", b"evil")]),
         "member '../../escaped.txt' contains '..' (path traversal)"),
        ("nested-traversal.tar", make_tar([("a/b/../../../escaped.txt", "file", b"evil")], "w"),
         "member 'a/b/../../../escaped.txt' contains '..'"),
        ("absolute.tar.bz2", make_tar([(f"{outside}/absolute.txt", "file", b"evil")], "w:bz2"),
         f"member '{outside}/absolute.txt' has an absolute path"),
        ("symlink-escape.tar.gz", make_tar([("pkg", "dir"), ("pkg/out", "sym", "../../../.."),
                                            ("pkg/out/pwned.txt", "file", b"evil")]),
         "member 'pkg/out' is a symlink pointing outside the target (../../../..)"),
        ("symlink-absolute.tar.xz", make_tar([("etc", "sym", str(outside))], "w:xz"),
         f"member 'etc' is a symlink to an absolute path ({outside})"),
        # lexically d/y -> d/x/.. stays inside, but d/x is itself a link to the root
        ("symlink-chain.tar.gz", make_tar([("d", "dir"), ("d/x", "sym", ".."), ("d/y", "sym", "x/.."),
                                           ("d/y/pwned.txt", "file", b"evil")]),
         "member 'd/y' is a symlink pointing outside the target (x/..)"),
        ("hardlink-escape.tar", make_tar([("hl", "hard", "../../etc/passwd")], "w"),
         "member 'hl' is a hard link pointing outside the target (../../etc/passwd)"),
        ("device.tar", make_tar([("dev/null", "chr")], "w"), "member 'dev/null' is a device file or FIFO"),
        ("fifo.tar", make_tar([("pipe", "fifo")], "w"), "member 'pipe' is a device file or FIFO"),
        ("zip-slip.zip", make_zip([("good.txt", b"fine"), ("../../zip-escaped.txt", b"evil")]),
         "member '../../zip-escaped.txt' contains '..' (path traversal)"),
        ("zip-absolute.zip", make_zip([(f"{outside}/zip-absolute.txt", b"evil")]),
         f"member '{outside}/zip-absolute.txt' has an absolute path"),
        ("zip-symlink.zip", make_zip([("lnk", b"../../..", 0o120777), ("lnk/zip-pwned.txt", b"evil")]),
         "member 'lnk' is a symlink pointing outside the target (../../..)"),
    ]


def test_unsafe_archives_are_refused_naming_the_member_and_nothing_is_written(cmx, home, server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = _unsafe_cases(outside)
    evil_names = {"escaped.txt", "absolute.txt", "pwned.txt", "zip-escaped.txt", "zip-absolute.txt", "zip-pwned.txt"}
    for name, data, expected in cases:
        server.files[f"/{name}"] = data
        before = files_under(tmp_path, but=home / "cache")
        res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url(f'/{name}')}")
        assert res.code == 1, name
        assert f"unsafe archive {name}: {expected}" in res.err, res.err
        assert "nothing was extracted" in res.err and "Traceback" not in res.err
        # nothing new anywhere outside the cache, nothing extracted inside it
        assert files_under(tmp_path, but=home / "cache") == before, name
        assert not any(Path(p).name in evil_names for p in files_under(home / "cache")), name
        assert entries_of(home, "download-and-extract") == [], name
    # the failed builds hold logs only: no target, no staged members
    for failed in (home / "cache" / ".failed").iterdir():
        assert not (failed / "extracted").exists()
        staging = failed / ".extract-staging"
        assert not staging.exists() or not any(staging.iterdir())
    assert list(outside.iterdir()) == []


def test_meta_tests_pass(cmx):
    res = cmx("test", "script", "download-and-extract")
    assert res.code == 0, res.out + res.err


# -- bombs (issue 10): small ones made here, refused by the default limits or by low ones set with the flags

def _big_zip(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("zeros.bin", b"\0" * size)
    return buf.getvalue()


def _assert_refused(res, home, name: str, expected: str) -> None:
    assert res.code == 1, res.err
    assert f"archive {name} refused: {expected}" in res.err, res.err
    assert "nothing was kept" in res.err and "Traceback" not in res.err
    assert entries_of(home, "download-and-extract") == []
    for failed in (home / "cache" / ".failed").iterdir():  # nothing extracted left behind
        assert not (failed / "extracted").exists() and not (failed / ".extract-staging").exists()


def test_a_zip_bomb_is_refused_by_the_default_ratio_and_accepted_when_raised(cmx, home, server):
    data = _big_zip(4_000_000)  # about 4 KB: a ratio near 1000
    server.files["/bomb.zip"] = data
    url = server.url("/bomb.zip")
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={url}")
    _assert_refused(res, home, "bomb.zip", "its members total more than 200 times its own size")
    assert "(--max_extract_ratio), reached at member 'zeros.bin'" in res.err
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={url}", "--max_extract_ratio=5000", "-j")
    assert res.code == 0, res.err
    assert (Path(res.json["new_env"]["CMX_EXTRACT_PATH"]) / "zeros.bin").stat().st_size == 4_000_000


@pytest.mark.parametrize("suffix,mode", [("tar.gz", "w:gz"), ("tar.xz", "w:xz"), ("tar.bz2", "w:bz2")])
def test_compressed_tar_bombs_are_refused_by_size(cmx, home, server, suffix, mode):
    data = make_tar([("a.bin", "file", b"\0" * 3_000_000), ("b.bin", "file", b"\0" * 3_000_000)], mode)
    server.files[f"/bomb.{suffix}"] = data
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url(f'/bomb.{suffix}')}",
              "--max_extract_size=4M", "--max_extract_ratio=1000000")
    _assert_refused(res, home, f"bomb.{suffix}",
                    "its members total more than 4.0 MiB (--max_extract_size), reached at member 'b.bin'")


def test_too_many_members_are_refused(cmx, home, server):
    data = make_tar([(f"f{i:02d}.txt", "file", b"x") for i in range(12)])
    server.files["/many.tgz"] = data
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/many.tgz')}", "--max_members=10")
    _assert_refused(res, home, "many.tgz", "it has more than 10 members (--max_members)")
    zdata = make_zip([(f"f{i:02d}.txt", b"x") for i in range(12)])
    server.files["/many.zip"] = zdata
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/many.zip')}", "--max_members=10")
    _assert_refused(res, home, "many.zip", "it has more than 10 members (--max_members)")
    res = cmx("run", "script", "--tags=download-and-extract", f"--url={server.url('/many.zip')}", "--max_members=0")
    assert res.code == 1 and "--max_members=0: expected a positive whole number" in res.err
