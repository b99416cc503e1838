"""The harness starts a server with the signals it stops it by at their defaults, whatever the test
runner has: a runner started as a non-interactive shell's background job (`make test &`) ignores
SIGINT, and cmx keeps a signal ignored at start, so a SIGINT from stop() was lost (cmx ran on until
the harness killed it)."""

from __future__ import annotations

import signal
import sys

from flexboard.app import harness

# the started program says, for each signal, whether it came in ignored, and its PID
SHOW = ("import os, signal\n"
        "names = ('SIGINT', 'SIGTERM', 'SIGHUP')\n"
        "print(os.getpid(), *[n + ('=ignored' if signal.getsignal(getattr(signal, n)) == signal.SIG_IGN else '=default')"
        " for n in names])\n")


def test_a_server_starts_with_default_signals_when_the_runner_ignores_them(tmp_path):
    ignored = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in ignored}  # as under `make test &` (and nohup)
    try:
        s = harness.Server([sys.executable, "-c", SHOW], port=0).start(tmp_path / "out.log")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert s.proc is not None and s.proc.wait(60) == 0, s.output()
    pid, *seen = s.output().split()
    assert seen == ["SIGINT=default", "SIGTERM=default", "SIGHUP=default"], s.output()
    assert int(pid) == s.proc.pid  # stop() signals the program itself, not a wrapper around it
