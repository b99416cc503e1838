"""download-file against an HTTP server the tests start on 127.0.0.1 (range_server.py):
checksums, resuming after a real cut connection, local files, errors, caching."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cmx, store_entries
from tests.scripts.range_server import RangeServer


@pytest.fixture
def server():
    srv = RangeServer().start()
    yield srv
    srv.stop()


def payload(size: int, seed: int = 1) -> bytes:
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entries_of(home: Path, alias: str) -> list[Path]:
    return [p for p in store_entries(home) if json.loads((p / "cmx-entry.json").read_text())["alias"] == alias]


def partials(home: Path) -> list[str]:
    d = home / "cache" / ".partial-downloads"
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(".lock")) if d.is_dir() else []


def test_download_verifies_and_a_second_run_is_a_cache_hit(cmx, home, server):
    data = payload(300_000)
    server.files["/f"] = data
    args = ("run", "script", "--tags=download,file", f"--url={server.url('/f')}", f"--sha256={sha256(data)}", "-j")
    res = cmx(*args)
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]).parent == Path(res.json["cache_path"])
    assert env["CMX_DOWNLOAD_FILENAME"] == "f"
    assert env["CMX_DOWNLOAD_SHA256"] == sha256(data)
    assert env["CMX_DOWNLOAD_MD5"] == hashlib.md5(data).hexdigest()
    assert env["CMX_DOWNLOAD_SIZE"] == str(len(data))
    assert env["CMX_DOWNLOAD_SOURCE"] == "downloaded" and env["CMX_DOWNLOAD_VERIFIED"] == "sha256"
    assert len(server.requests_for("/f")) == 1
    assert partials(home) == []  # moved into the entry

    again = cmx(*args)
    assert again.code == 0, again.err
    assert again.json["cached"] is True and again.json["cache_path"] == res.json["cache_path"]
    assert len(server.requests_for("/f")) == 1  # no new request


def test_md5_and_filename(cmx, server):
    data = payload(1000)
    server.files["/dir/archive%20v1.bin"] = data
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/dir/archive%20v1.bin')}",
              f"--md5={hashlib.md5(data).hexdigest()}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_DOWNLOAD_FILENAME"] == "archive v1.bin" and env["CMX_DOWNLOAD_VERIFIED"] == "md5"
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/dir/archive%20v1.bin')}",
              "--filename=renamed.bin", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).name == "renamed.bin"
    assert res.json["new_env"]["CMX_DOWNLOAD_VERIFIED"] == "no"
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/dir/archive%20v1.bin')}",
              "--filename=../escape.bin")
    assert res.code == 1 and "expected a plain file name" in res.err


@pytest.mark.parametrize("kind", ["sha256", "md5"])
def test_checksum_mismatch_fails_and_removes_the_file(cmx, home, server, kind):
    data = payload(50_000)
    server.files["/data.bin"] = data
    wrong = "ab" * (32 if kind == "sha256" else 16)
    actual = sha256(data) if kind == "sha256" else hashlib.md5(data).hexdigest()
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/data.bin')}", f"--{kind}={wrong}")
    assert res.code == 1
    assert f"checksum mismatch for data.bin: expected {kind} {wrong}, got {actual}" in res.err
    assert "Traceback" not in res.err
    assert entries_of(home, "download-file") == []
    assert partials(home) == []  # neither published nor kept for a resume
    failed = list((home / "cache" / ".failed").iterdir())
    assert failed and not any((f / "data.bin").exists() for f in failed)


def test_bad_checksum_text_is_a_clear_error(cmx, server):
    server.files["/x"] = b"x"
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/x')}", "--sha256=xyz")
    assert res.code == 1 and "--sha256=xyz: expected 64 hex digits" in res.err
    assert server.requests == []


def test_resume_after_a_cut_connection_in_the_same_run(cmx, home, server):
    data = payload(400_000)
    server.files["/big.bin"] = data
    server.cut_after["/big.bin"] = [150_000]
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/big.bin')}",
              f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert env["CMX_DOWNLOAD_SOURCE"] == "resumed"
    reqs = server.requests_for("/big.bin")
    assert len(reqs) == 2 and reqs[0]["range"] is None
    start = int(reqs[1]["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= 150_000  # continued, not restarted
    assert reqs[1]["if_range"]  # only if the file is still the same one
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert "interrupted after" in log and "HTTP 206" in log


def test_resume_across_runs_after_an_interrupted_download(cmx, home, server):
    data = payload(400_000, seed=2)
    url = server.url("/cut.bin")
    server.files["/cut.bin"] = data
    server.cut_after["/cut.bin"] = [120_000]
    first = cmx("run", "script", "--tags=download,file", f"--url={url}", f"--sha256={sha256(data)}",
                "--env.CMX_DOWNLOAD_RETRIES=0")
    assert first.code == 1
    assert f"download of {url} interrupted after" in first.err and "run again to resume" in first.err
    assert entries_of(home, "download-file") == []
    kept = partials(home)
    assert len(kept) == 2 and any(n.endswith(".part") for n in kept)  # the bytes and their validator

    second = cmx("run", "script", "--tags=download,file", f"--url={url}", f"--sha256={sha256(data)}", "-j")
    assert second.code == 0, second.err
    assert Path(second.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert second.json["new_env"]["CMX_DOWNLOAD_SOURCE"] == "resumed"
    reqs = server.requests_for("/cut.bin")
    assert len(reqs) == 2 and reqs[1]["range"] and reqs[1]["range"] != "bytes=0-"
    assert partials(home) == []


def test_a_server_that_ignores_ranges_makes_it_restart(cmx, server):
    data = payload(400_000, seed=3)
    server.files["/norange.bin"] = data
    server.cut_after["/norange.bin"] = [150_000]
    server.ignore_range = True
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/norange.bin')}",
              f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert res.json["new_env"]["CMX_DOWNLOAD_SOURCE"] == "downloaded"
    assert len(server.requests_for("/norange.bin")) == 2
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert "did not resume" in log and "restarting from the beginning" in log


def test_changed_file_on_the_server_restarts_instead_of_mixing(cmx, home, server):
    """If-Range: a partial of the old content is not continued with the new content."""
    old, new = payload(200_000, seed=4), payload(200_000, seed=5)
    url = server.url("/moving.bin")
    server.files["/moving.bin"] = old
    server.cut_after["/moving.bin"] = [70_000]
    assert cmx("run", "script", "--tags=download,file", f"--url={url}", "--env.CMX_DOWNLOAD_RETRIES=0").code == 1
    server.files["/moving.bin"] = new
    res = cmx("run", "script", "--tags=download,file", f"--url={url}", f"--sha256={sha256(new)}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == new


def test_existing_local_file_is_used_without_any_request(cmx, server, tmp_path):
    data = payload(10_000, seed=6)
    server.files["/local.bin"] = data
    local = tmp_path / "already-here.bin"
    local.write_bytes(data)
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/local.bin')}",
              f"--sha256={sha256(data)}", f"--local_path={local}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    # copied into the entry: the entry holds the bytes that were verified
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]) == Path(res.json["cache_path"]) / "already-here.bin"
    assert Path(env["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert env["CMX_DOWNLOAD_SOURCE"] == "local" and env["CMX_DOWNLOAD_VERIFIED"] == "sha256"
    assert server.requests == []
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert f"using the local file {local} (its sha256 matches); copied into the entry, not downloading" in log

    # a local file that does not match is not used: it is downloaded, and the log says why
    local.write_bytes(b"something else")
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/local.bin')}",
              f"--sha256={sha256(data)}", f"--local_path={local}", "--filename=local.bin", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CMX_DOWNLOAD_SOURCE"] == "downloaded"
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert len(server.requests_for("/local.bin")) == 1
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert f"checksum mismatch for {local}" in log and "downloading" in log


def test_local_file_alone(cmx, tmp_path):
    local = tmp_path / "x.bin"
    local.write_bytes(b"abc")
    res = cmx("run", "script", "--tags=download,file", f"--local_path={local}", f"--sha256={sha256(b'xyz')}")
    assert res.code == 1 and f"checksum mismatch for {local}" in res.err
    res = cmx("run", "script", "--tags=download,file", f"--local_path={tmp_path / 'missing.bin'}")
    assert res.code == 1 and "not found" in res.err


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_server_and_http_errors_name_the_url(cmx, server):
    url = f"http://127.0.0.1:{_closed_port()}/file.tar.gz"
    res = cmx("run", "script", "--tags=download,file", f"--url={url}")
    assert res.code == 1
    assert f"cannot download {url}: Connection refused" in res.err and "Traceback" not in res.err
    missing = server.url("/absent")
    res = cmx("run", "script", "--tags=download,file", f"--url={missing}")
    assert res.code == 1 and f"cannot download {missing}: HTTP 404" in res.err
    res = cmx("run", "script", "--tags=download,file", "--url=ftp://127.0.0.1/x")
    assert res.code == 1 and "unsupported URL scheme" in res.err


def test_file_url_and_progress_lines_in_the_log(cmx, server, tmp_path):
    data = payload(1_000_000, seed=7)
    server.files["/progress.bin"] = data
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/progress.bin')}", "-j")
    assert res.code == 0, res.err
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    # stderr is not a terminal here: plain progress lines in the log, about every 10%
    assert len(re.findall(r"progress\.bin: \d+% \(", log)) >= 5 and "progress.bin: 100% (" in log
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    res = cmx("run", "script", "--tags=download,file", f"--url=file://{src}", f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CMX_DOWNLOAD_SOURCE"] == "file"
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert os.path.dirname(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]) == res.json["cache_path"]


def test_meta_tests_pass(cmx):
    res = cmx("test", "script", "download-file")
    assert res.code == 0, res.out + res.err


# -- attacks (issue 10): deadline, redirects, resume without a validator, local files, bombs, full disk, modes


def test_an_overall_deadline_stops_a_server_that_trickles_bytes(cmx, home, server):
    """One byte every 0.25 s never trips the per-read timeout (60 s, however late the server's thread
    runs on a loaded machine); the deadline (1 s) stops it."""
    server.files["/slow.bin"] = payload(2000)  # 500 s at that pace
    server.trickle["/slow.bin"] = 0.25
    url = server.url("/slow.bin")
    res = cmx("run", "script", "--tags=download,file", f"--url={url}", "--deadline=1",
              "--env.CMX_DOWNLOAD_TIMEOUT=60")
    assert res.code == 1, res.err
    assert f"download of {url} exceeded its deadline of 1 s (--deadline)" in res.err
    assert "Traceback" not in res.err and entries_of(home, "download-file") == []


def test_a_bad_deadline_is_a_clear_error(cmx, server):
    server.files["/x"] = b"x"
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/x')}", "--deadline=soon")
    assert res.code == 1 and "--deadline=soon: expected a non-negative number" in res.err
    assert server.requests == []


def test_redirects_stay_on_the_same_host_unless_allowed(cmx, home, server):
    """127.0.0.1 and localhost are two loopback "hosts": a redirect from one to the other is refused
    by default, followed when allowed; a redirect on the same host is followed."""
    data = payload(20_000, seed=11)
    server.files["/target.bin"] = data
    server.redirects["/same"] = server.url("/target.bin")
    server.redirects["/other"] = f"http://localhost:{server.port}/target.bin"
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/same')}",
              f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    assert len(server.requests_for("/target.bin")) == 1

    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/other')}")
    assert res.code == 1
    assert (f"cannot download {server.url('/other')}: redirected to another host, localhost "
            f"(http://localhost:{server.port}/target.bin); allow it with --allow_redirect_hosts=localhost") in res.err
    assert len(server.requests_for("/target.bin")) == 1  # not followed
    assert entries_of(home, "download-file") and len(entries_of(home, "download-file")) == 1

    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/other')}",
              "--allow_redirect_hosts=localhost", f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == data
    assert len(server.requests_for("/target.bin")) == 2


def test_a_partial_without_a_validator_is_not_spliced_with_a_new_version(cmx, home, server):
    """No ETag, no Last-Modified: nothing says the bytes on disk belong to what the server sends now,
    so the next run restarts from zero (no Range) instead of appending the new file's tail."""
    old, new = payload(200_000, seed=12), payload(200_000, seed=13)
    url = server.url("/novalidator.bin")
    server.no_validators = True
    server.files["/novalidator.bin"] = old
    server.cut_after["/novalidator.bin"] = [70_000]
    assert cmx("run", "script", "--tags=download,file", f"--url={url}", "--env.CMX_DOWNLOAD_RETRIES=0").code == 1
    server.files["/novalidator.bin"] = new
    res = cmx("run", "script", "--tags=download,file", f"--url={url}", f"--sha256={sha256(new)}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).read_bytes() == new
    reqs = server.requests_for("/novalidator.bin")
    assert len(reqs) == 2 and reqs[1]["range"] is None
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert "no ETag or Last-Modified" in log


def test_a_cut_without_a_validator_restarts_within_the_run(cmx, server):
    data = payload(400_000, seed=14)
    server.no_validators = True
    server.files["/nv.bin"] = data
    server.cut_after["/nv.bin"] = [150_000]  # after two full 64 KiB chunks: there is something to resume
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/nv.bin')}",
              f"--sha256={sha256(data)}", "-j")
    assert res.code == 0, res.err
    reqs = server.requests_for("/nv.bin")
    assert len(reqs) == 2 and reqs[1]["range"] is None and res.json["new_env"]["CMX_DOWNLOAD_SOURCE"] == "downloaded"


def test_a_local_file_changed_after_use_is_not_served_under_its_old_checksum(cmx, tmp_path):
    data = payload(30_000, seed=15)
    local = tmp_path / "model.bin"
    local.write_bytes(data)
    args = ("run", "script", "--tags=download,file", f"--local_path={local}", f"--sha256={sha256(data)}", "-j")
    first = cmx(*args)
    assert first.code == 0, first.err
    local.write_bytes(b"tampered" + data[8:])  # same size, other bytes
    again = cmx(*args)
    assert again.code == 0, again.err
    path = Path(again.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"])
    assert sha256(path.read_bytes()) == again.json["new_env"]["CMX_DOWNLOAD_SHA256"] == sha256(data)


def test_a_gzip_encoded_bomb_is_refused(cmx, home, server):
    """3 MB of zeros sent gzip-encoded (about 3 KB on the wire): over the default --max_ratio of 100."""
    server.files["/bomb.bin"] = b"\0" * 3_000_000
    server.gzip_encoded.add("/bomb.bin")
    url = server.url("/bomb.bin")
    res = cmx("run", "script", "--tags=download,file", f"--url={url}")
    assert res.code == 1
    assert f"cannot download {url}: its Content-Encoding (gzip) expands" in res.err and "--max_ratio=100" in res.err
    assert entries_of(home, "download-file") == [] and partials(home) == []
    # a trusted answer: the flag raises the limit
    res = cmx("run", "script", "--tags=download,file", f"--url={url}", "--max_ratio=5000", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).stat().st_size == 3_000_000


def test_max_size_refuses_large_and_decoded_answers(cmx, home, server, tmp_path):
    server.files["/big.bin"] = payload(300_000, seed=16)
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/big.bin')}", "--max_size=100k")
    assert res.code == 1 and "it is 293.0 KiB, more than --max_size=100.0 KiB" in res.err
    server.files["/zeros.bin"] = b"\0" * 2_000_000
    server.gzip_encoded.add("/zeros.bin")
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/zeros.bin')}", "--max_size=1M",
              "--max_ratio=100000")
    assert res.code == 1 and "more than --max_size=1.0 MiB once decoded (Content-Encoding: gzip)" in res.err
    src = tmp_path / "big-local.bin"
    src.write_bytes(payload(300_000, seed=17))
    res = cmx("run", "script", "--tags=download,file", f"--url=file://{src}", "--max_size=100k")
    assert res.code == 1 and "more than --max_size=100.0 KiB" in res.err
    assert entries_of(home, "download-file") == [] and partials(home) == []
    res = cmx("run", "script", "--tags=download,file", f"--url={server.url('/big.bin')}", "--max_size=lots")
    assert res.code == 1 and "--max_size=lots: expected a size in bytes" in res.err


def test_file_url_and_local_copies_keep_the_source_mode(cmx, tmp_path):
    """A 0640 source is not stored world-readable: its mode, at most what the umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    src = tmp_path / "private.bin"
    src.write_bytes(b"secret-ish")
    src.chmod(0o640)
    res = cmx("run", "script", "--tags=download,file", f"--url=file://{src}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).stat().st_mode & 0o777 == 0o640 & ~umask
    res = cmx("run", "script", "--tags=download,file", f"--local_path={src}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DOWNLOAD_FILE_PATH"]).stat().st_mode & 0o777 == 0o640 & ~umask


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MiB tmpfs (root only): a home on it fills up for real, through the real write path."""
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (mount -t tmpfs -o size=2m)")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_is_a_clear_error_naming_the_recipe_and_the_path(server, full_disk):
    home = full_disk / "home"
    home.mkdir()
    server.files["/huge.bin"] = payload(4_000_000, seed=18)
    url = server.url("/huge.bin")
    first = run_cmx("run", "script", "--tags=download,file", f"--url={url}", home=home)
    assert first.code == 1
    assert "recipe 'download-file' failed" in first.err
    assert re.search(r"no space left on the device writing \S*/\.partial-downloads/\w+\.part", first.err), first.err
    # the disk stays full (the partial is kept for a resume): the next run fails as clearly, not as an internal error
    again = run_cmx("run", "script", "--tags=download,file", f"--url={url}", home=home)
    assert again.code == 1
    assert "recipe 'download-file' failed" in again.err and "no space left on the device writing " + str(home) in again.err
    assert "internal error" not in first.err + again.err and "Traceback" not in first.err + again.err
