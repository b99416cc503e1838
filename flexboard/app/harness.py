"""Drive a real FlexBoard in a real browser: start the server (the ``run,flexboard`` recipe or
``flexboard.app.serve``) on a free loopback port, wait until it answers, open pages in Debian's
Chromium through Playwright, stop the server by its PID.

Used by the browser tests (tests/flexboard/app/), the screenshots (docs/flexboard/) and the
render benchmark (benchmarks/flexboard_render_bench.py). Playwright's own browser downloads are
never used: the browser is the system's ``chromium`` (``CMX_CHROMIUM`` names another).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

READY_TIMEOUT = 180.0   # seconds for the server to answer: generous, the machine may be loaded
STOP_TIMEOUT = 60.0

# The server starts with the signals stop() sends at their defaults, whatever the caller has. A
# test runner started as a non-interactive shell's background job (`make test &`) ignores SIGINT;
# its children inherit that, and cmx (as Python itself) keeps a signal ignored at start: stop(SIGINT)
# was then lost and cmx ran on until it was killed. Python also ignores SIGPIPE and SIGXFSZ at start,
# so those are reset too (what Popen's restore_signals does). An exec, not a preexec_fn: the caller
# may have threads (Playwright's).
_EXEC_WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys\n"
    "for name in ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGPIPE', 'SIGXFSZ'):\n"
    "    signal.signal(getattr(signal, name), signal.SIG_DFL)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])\n"
)


def with_default_signals(argv: Sequence[str]) -> list[str]:
    """``argv`` run with SIGINT, SIGTERM, SIGHUP (and Python's SIGPIPE, SIGXFSZ) at their defaults, in
    the same process (the PID Popen returns is the one of ``argv``)."""
    return [sys.executable, "-I", "-S", "-c", _EXEC_WITH_DEFAULT_SIGNALS, *argv]


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable: ``$CMX_CHROMIUM``, else ``chromium`` on PATH."""
    env = os.environ.get("CMX_CHROMIUM", "")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running FlexBoard, its process and what it printed."""

    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, log_path: Path) -> "Server":
        self.log_path = log_path
        out = log_path.open("w", encoding="utf-8")
        # a process that will not stop is aborted (stop()), and faulthandler then prints where each thread was
        env = {**os.environ, "PYTHONFAULTHANDLER": "1", **self.env}
        self.proc = subprocess.Popen(with_default_signals(self.argv), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, text=True)
        out.close()
        return self

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll the health endpoint until it answers ``ok`` (or the process exits: RuntimeError)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FlexBoard exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=5) as r:
                    if r.read().strip() == b"ok":
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)  # a poll interval, not a wait for something to happen
        raise RuntimeError(f"FlexBoard did not answer on {self.url} within {timeout:.0f} s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` to the server's PID and wait for it; if it does not stop in time, abort it (its
        output then ends with the Python stack of each thread, for the test's failure message), then kill it."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:  # stuck: SIGABRT makes faulthandler print every thread's stack
                self.proc.send_signal(signal.SIGABRT)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        return int(self.proc.returncode)


def recipe_server(port: int, data_args: Sequence[str], cmx: str | None = None, env: dict[str, str] | None = None) -> Server:
    """``cmx run script --tags=run,flexboard --port=PORT ...`` (the recipe, through the CLI)."""
    exe = cmx or str(Path(sys.executable).with_name("cmx"))
    return Server([exe, "run", "script", "--tags=run,flexboard", f"--port={port}", *data_args], port, env or {})


def direct_server(port: int, data_args: Sequence[str], env: dict[str, str] | None = None) -> Server:
    """``python -m flexboard.app.serve --port=PORT ...`` (the app without cmx around it)."""
    return Server([sys.executable, "-m", "flexboard.app.serve", f"--port={port}", *data_args], port, env or {})


def launch(playwright: Any, chromium: str):
    """Chromium, headless, from the system's executable (no download, no sandbox as root)."""
    return playwright.chromium.launch(executable_path=chromium, headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])


def outside_requests(page: Any) -> list[str]:
    """Start recording requests to anything but this machine; the returned list fills up."""
    seen: list[str] = []

    def on_request(req: Any) -> None:
        host = req.url.split("/")[2] if "://" in req.url else ""
        name = host.rsplit(":", 1)[0].strip("[]")
        if req.url.startswith(("data:", "blob:", "about:")):
            return
        if name not in ("127.0.0.1", "localhost", "::1"):
            seen.append(req.url)

    page.on("request", on_request)
    return seen
