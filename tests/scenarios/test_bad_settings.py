"""Hostile values and settings: each is one clear line and the right exit code, never a traceback
or an internal error, and nothing runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cmx

ECHO = "tags: [echo]\ninput_mapping: {text: ECHO_TEXT}\nnew_env_keys: [GOT, Y, ECHO_*]\n"
# the naive way a recipe exports a value: a newline inside it would become a key of its own
ECHO_RUN = 'touch "$MARK"\necho "GOT=$V" >> tmp-run-env.out\necho "ECHO_LEN=$(printf %s "$V" | wc -c)" >> tmp-run-env.out\n'


def _one_error(res, *words: str) -> None:
    assert res.code == 2, (res.code, res.err)
    assert res.err.startswith("cmx: error: ") and "Traceback" not in res.err and "internal error" not in res.err
    for w in words:
        assert w in res.err, res.err


@pytest.mark.parametrize("flag", ["--env.V={}", "--const.V={}", "--text={}", "--adr.x.env.V={}"])
def test_a_newline_in_a_value_cannot_inject_output_keys(repo, cmx, tmp_path, flag):
    repo.add("echo", ECHO, ECHO_RUN)
    mark = tmp_path / "ran"
    res = cmx("run", "script", "--tags=echo", f"--env.MARK={mark}", flag.format("a\nY=evil"), "-j")
    _one_error(res, flag.split("=")[0], "newline")
    assert not mark.exists()
    ok = cmx("run", "script", "--tags=echo", f"--env.MARK={mark}", "--env.V=a Y=evil", "-j")
    assert ok.code == 0 and "Y" not in ok.json["new_env"] and ok.json["new_env"]["GOT"] == "a Y=evil"


def test_an_oversized_value_is_refused_naming_the_flag(repo, cmx, tmp_path):
    repo.add("echo", ECHO, ECHO_RUN)
    mark = tmp_path / "ran"
    big = tmp_path / "big.json"  # 1 MB cannot even pass as one argument: an input file can
    big.write_text(json.dumps({"env": {"V": "a" * 1_000_000, "MARK": str(mark)}}))
    res = cmx("run", "script", "--tags=echo", f"@{big}")
    _one_error(res, "--env.V", "1000000 bytes", "65536")
    assert not mark.exists()
    many = tmp_path / "many.json"  # each under the cap, too much together
    many.write_text(json.dumps({"env": {f"V{k}": "b" * 60_000 for k in range(6)} | {"MARK": str(mark)}}))
    _one_error(cmx("run", "script", "--tags=echo", f"@{many}"), "262144 bytes")
    assert not mark.exists()
    res = cmx("run", "script", "--tags=echo", f"--env.MARK={mark}", "--env.V=" + "c" * 60_000, "-j")
    assert res.code == 0 and res.json["new_env"]["ECHO_LEN"] == "60000"  # under the cap, external commands run


def test_cmx_home_that_is_a_file_or_unwritable(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    homes = [afile, afile / "sub"]
    if os.geteuid() != 0:
        homes.append(readonly)
    else:  # root writes through file modes; procfs refuses to create folders for everyone
        homes.append(Path("/proc/cmx-home-that-cannot-exist"))
    try:
        for home in homes:
            for args in (("run", "script", "--tags=detect,os"), ("find", "script", "--tags=detect")):
                _one_error(run_cmx(*args, home=home, cwd=tmp_path), f"CMX_HOME={home}")
        _one_error(run_cmx("show", "cache", home=afile, cwd=tmp_path), f"CMX_HOME={afile} is a file")
    finally:
        readonly.chmod(0o755)


def test_bad_lock_timeout_is_a_usage_error(repo, cmx, tmp_path):
    repo.add("echo", "tags: [echo]\ncache: true\n", 'touch "$MARK"\n')
    mark = tmp_path / "ran"
    res = cmx("run", "script", "--tags=echo", f"--env.MARK={mark}", env={"CMX_LOCK_TIMEOUT": "abc"})
    _one_error(res, "CMX_LOCK_TIMEOUT='abc'")
    assert not mark.exists()
    assert cmx("run", "script", "--tags=echo", f"--env.MARK={mark}", env={"CMX_LOCK_TIMEOUT": "5"}).code == 0


@pytest.mark.parametrize("args", [("find", "script"), ("show", "cache"), ("run", "script", "--tags=print,hello-world", "-j")])
def test_a_closed_pipe_is_quiet(home, args):
    # `cmx find script | head`: the reader has gone away when cmx writes
    env = dict(os.environ, CMX_HOME=str(home), CMX_NO_MEMO="1")
    for _ in range(2):  # the second `find` is the fast path's replay
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], stdout=write_end,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=home, timeout=120)
        finally:
            os.close(write_end)
        assert proc.returncode == 141, proc.stderr
        assert "Error" not in proc.stderr and "error:" not in proc.stderr, proc.stderr
        env.pop("CMX_NO_MEMO", None)
