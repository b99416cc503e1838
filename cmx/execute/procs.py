"""Recipe scripts run in their own process groups, and none outlives cmx.

- Each script starts a new session, so it is the leader of its own process
  group: a terminal's Ctrl-C reaches cmx only, and cmx decides what the
  script gets.
- When a script ends, whatever it left running in its group is stopped
  (SIGTERM, then SIGKILL after ``GRACE`` seconds).
- On SIGINT, SIGTERM or SIGHUP, cmx forwards the signal to every live group,
  waits up to ``GRACE`` seconds, kills what is left, prints one line and
  exits with 128 + the signal number (130, 143, 129). A second signal during
  that wait kills at once.
- A watchdog process (``watchdog.py``, started with the first script) reads
  the group ids cmx registers on a pipe. If cmx dies, even by SIGKILL, the
  pipe closes and the watchdog stops the groups still registered. Linux's
  ``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that forked
  dies, reaches only the direct child (not the script's own children), and
  needs a ``preexec_fn``, which is unsafe with the worker threads of ``--jobs``.

A process that leaves the group on purpose (``setsid``, a daemon) is out of
reach; that is the recipe's choice.

Starting a script is one step that no signal cuts in two. The watchdog runs
before the script is started; the script's shell waits on its stdin for a word
cmx writes only once the group is registered (with ``_groups`` and the
watchdog), so a script never runs unknown to either, even if cmx is SIGKILLed
in between (it then reads end of file and exits 125 without running). cmx's
signal handler defers a signal that comes while the main thread is in
``spawn`` (``defer``): it is raised once the group is registered, instead of
unwinding ``subprocess.Popen`` with the child already started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Sequence

from cmx.errors import Interrupted

GRACE = 2.0  # seconds a group gets between the forwarded signal (or SIGTERM) and SIGKILL

_lock = threading.Lock()
_groups: dict[int, subprocess.Popen[bytes]] = {}  # group id -> its leader
_watchdog: subprocess.Popen[bytes] | None = None
_stopping = 0  # the signal cmx is stopping on, once it is
_spawning = threading.local()  # .active: this thread is inside spawn()
_deferred = 0  # a signal that came while the main thread was inside spawn(), raised at its end
# the script's shell starts only once cmx writes "go" on its stdin (end of file: cmx is gone, run nothing)
_GATE = 'IFS= read -r go && [ "$go" = go ] && exec "$@" </dev/null; exit 125'


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def stopping() -> int:
    """The signal cmx is stopping on, or 0."""
    return _stopping


def defer(signum: int) -> bool:
    """For cmx's signal handler (it runs in the main thread): True when the main thread is inside
    ``spawn``, which then raises ``Interrupted(signum)`` once the new group is registered."""
    global _deferred
    if getattr(_spawning, "active", False):
        _deferred = _deferred or signum
        return True
    return False


def spawn(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new session and process group, registered with the watchdog
    before it runs (with ``stdin=subprocess.DEVNULL``, the one way cmx starts scripts)."""
    global _deferred
    gated = kwargs.get("stdin") == subprocess.DEVNULL
    _spawning.active = True
    try:
        with _lock:
            if _stopping:
                raise Interrupted(_stopping)
            _ensure_watchdog()
            if not gated:
                proc: subprocess.Popen[bytes] = subprocess.Popen(list(argv), start_new_session=True, **kwargs)
                _register(proc)
            else:
                gate_r, gate_w = os.pipe()
                try:
                    proc = subprocess.Popen(["/bin/sh", "-c", _GATE, "cmx-script", *argv], start_new_session=True,
                                            **dict(kwargs, stdin=gate_r))
                finally:
                    os.close(gate_r)
                try:
                    _register(proc)
                    os.write(gate_w, b"go\n")
                finally:
                    os.close(gate_w)
    finally:
        _spawning.active = False
        if _deferred:  # also when the start failed: cmx stops on the signal, none is left for the next start
            signum, _deferred = _deferred, 0
            raise Interrupted(signum)
    return proc


def _register(proc: subprocess.Popen[bytes]) -> None:
    _groups[proc.pid] = proc
    _tell(f"+{proc.pid}")


def release(proc: subprocess.Popen[bytes], first: int = signal.SIGTERM) -> None:
    """Stop what is left of ``proc``'s group (``first``, then SIGKILL after GRACE), reap ``proc``,
    and forget the group."""
    pgid = proc.pid
    _stop_groups([pgid], first)
    proc.wait()  # the leader is in the group: gone by now
    with _lock:
        _groups.pop(pgid, None)
        _tell(f"-{pgid}")


def group_alive(pgid: int) -> bool:
    return _killpg(pgid, 0)


def stop_group(pgid: int) -> None:
    """SIGTERM to a group, SIGKILL after GRACE if anything is left."""
    _stop_groups([pgid], signal.SIGTERM)


def terminate_all(signum: int) -> int:
    """cmx is stopping on ``signum``: forward it to every live group, SIGKILL what is left after GRACE.
    No script starts afterwards. Returns how many groups were still running."""
    global _stopping
    with _lock:
        _stopping = _stopping or signum
        groups = list(_groups)
    return _stop_groups(groups, signum)


def resume() -> None:
    """Allow scripts to start again (a new run through the Python API after an interrupted one)."""
    global _stopping
    with _lock:
        _stopping = 0


def kill_all_now() -> None:
    """A second signal while stopping: SIGKILL every group at once."""
    with _lock:
        groups = list(_groups)
    for pgid in groups:
        _killpg(pgid, signal.SIGKILL)


def _reap(pgid: int) -> None:
    """Reap a group's leader once it has exited: a zombie still counts as a member of its group."""
    leader = _groups.get(pgid)
    if leader is not None:
        leader.poll()


def _stop_groups(groups: list[int], first: int) -> int:
    for g in groups:
        _reap(g)
    alive = [g for g in groups if _killpg(g, first)]
    if first != signal.SIGKILL:
        deadline = time.monotonic() + GRACE
        waiting = list(alive)
        while waiting and time.monotonic() < deadline:
            time.sleep(0.02)
            for g in waiting:
                _reap(g)
            waiting = [g for g in waiting if _killpg(g, 0)]
        for g in waiting:
            _killpg(g, signal.SIGKILL)
    return len(alive)


def _killpg(pgid: int, signum: int) -> bool:
    """Send ``signum`` to a group; False when the group no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # cannot happen for our own groups, unless the id was reused by another user
        return False
    return True


def _ensure_watchdog() -> None:
    """Start the watchdog if it is not running (caller holds _lock); a new one (the last one was
    killed) learns every live group."""
    global _watchdog
    if _watchdog is not None and _watchdog.poll() is None:
        return
    try:
        _watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(__file__).with_name("watchdog.py")), str(GRACE)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # no watchdog (no interpreter to start?): cmx still stops its groups itself when it can
        _watchdog = None
        return
    for pgid in sorted(_groups):
        _write(_watchdog.stdin, f"+{pgid}")


def _tell(line: str) -> None:
    """Send one line to the watchdog, starting it first if needed (caller holds _lock)."""
    if _watchdog is None or _watchdog.poll() is not None:
        if line.startswith("-"):
            return
        _ensure_watchdog()  # it learns the groups, this one included
        return
    _write(_watchdog.stdin, line)


def _write(pipe: IO[bytes] | None, line: str) -> None:
    if pipe is None:
        return
    try:
        pipe.write(line.encode() + b"\n")
        pipe.flush()
    except (BrokenPipeError, OSError):
        pass  # the watchdog is gone; cmx itself still stops its groups when it can


# Last: cmx's signal handler (cmx.cli.main) uses this module only once everything above is defined.
IMPORTED = True
