"""The `run,flexboard` recipe's life cycle through the real CLI: it serves on the port given,
bound to 127.0.0.1, prints the URL, and Ctrl-C (SIGINT) stops it with one line and no process
left; bad flags and a port in use are one-line errors. The pages are tested in
tests/flexboard/app/test_browser.py."""

from __future__ import annotations

import signal
import socket

import psutil
import pytest

from tests.conftest import shared_dir

pytest.importorskip("streamlit", reason="streamlit is in the flexboard extra (make install)")
PUBLISHED = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"


@pytest.fixture
def data() -> str:
    if not PUBLISHED.is_file():
        pytest.skip(f"shared data not found: {PUBLISHED}")
    return str(PUBLISHED.resolve())


def _listening(port: int) -> list[str]:
    return sorted({c.laddr.ip for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port
                   and c.status == psutil.CONN_LISTEN})


@pytest.mark.parametrize("runner_sigint", ["as started", "ignored"])
def test_serves_on_loopback_prints_the_url_and_stops_cleanly_on_sigint(home, tmp_path, data, runner_sigint):
    """"ignored": the test runner ignores SIGINT, as one started as a shell's background job does (cmx
    would inherit that and keep it: the SIGINT was lost and cmx killed after 60 s, exit -9)."""
    from flexboard.app import harness

    port = harness.free_port()
    server = harness.recipe_server(port, [f"--data={data}"], env={"CMX_HOME": str(home)})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if runner_sigint == "ignored" else None
    try:
        s = server.start(tmp_path / "out.log")
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        s.wait_ready()
        assert _listening(port) == ["127.0.0.1"]
        children = psutil.Process(s.proc.pid).children(recursive=True)
        assert children, "the recipe runs the server as a child of cmx"
    finally:
        code = s.stop(signal.SIGINT)
    out = s.output()
    assert code == 130, out
    assert f"FlexBoard: http://127.0.0.1:{port}/ (847 rows" in out
    assert "Traceback" not in out
    assert [line for line in out.splitlines() if "interrupted" in line] == ["cmx: interrupted by SIGINT"]
    gone, alive = psutil.wait_procs(children, timeout=60)
    assert alive == [], f"left running: {alive}"


def test_the_server_alone_exits_0_on_sigint(tmp_path, data):
    from flexboard.app import harness

    s = harness.direct_server(harness.free_port(), [f"--data={data}"]).start(tmp_path / "out.log")
    try:
        s.wait_ready()
    finally:
        code = s.stop(signal.SIGINT)
    assert code == 0, s.output()
    assert "Traceback" not in s.output()


def test_bad_port_and_port_in_use_are_one_line_errors(cmx, data):
    # bad input: exit 2, one line naming the flag, before anything starts
    r = cmx("run", "script", "--tags=run,flexboard", "--port=70000", f"--data={data}")
    assert r.code == 2 and "--port=70000: expected 1-65535" in r.err and "Traceback" not in r.err, r.err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cmx("run", "script", "--tags=run,flexboard", f"--port={port}", f"--data={data}")
    assert r.code == 2 and f"127.0.0.1:{port} is in use" in r.err and "Traceback" not in r.err, r.err
    r = cmx("run", "script", "--tags=run,flexboard", "--port=1", "--data=/nonexistent/x.parquet")
    assert r.code == 2 and "--data=/nonexistent/x.parquet: no such file" in r.err, r.err
    r = cmx("run", "script", "--tags=run,flexboard", "--port=1", f"--data={data}", "--conformal_folds=1")
    assert r.code == 2 and "--conformal_folds=1: 0 (no calibration) or at least 2 folds" in r.err, r.err
