"""Scripts run in their own process group; nothing of it outlives the script, or cmx."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from cmx.errors import Interrupted
from cmx.execute import procs, script

WATCHDOG = Path(procs.__file__).with_name("watchdog.py")


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procs, "GRACE", 0.5)


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_gone(pids: list[int], within: float = 60.0) -> list[int]:
    """The pids still alive after waiting up to ``within`` seconds (a deadline, not a measurement)."""
    deadline = time.monotonic() + within
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pids)


def _wait_file(path: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.exists(), f"{path} never appeared"


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()]


# a child that ignores SIGTERM, and says so once it does (its pid is $!): a signal sent before its
# trap is set would end it the ordinary way and leave the SIGKILL unexercised
IGNORING = '(trap "" TERM; : > ignoring; exec sleep 301) > /dev/null 2>&1 &\nwhile [ ! -e ignoring ]; do sleep 0.01; done\n'


def test_background_processes_of_a_finished_script_are_stopped(tmp_path):
    # one child holds the output pipe (cmx used to wait for it forever), one ignores SIGTERM
    run = tmp_path / "run.sh"
    run.write_text('sleep 300 &\necho $! > pids\n' + IGNORING + 'echo $! >> pids\necho started\n')
    text, _ = script.render(run, tmp_path, {}, "t")
    assert script.run(text, tmp_path, {}, tmp_path / "log", None) == 0
    assert _wait_gone(_pids(tmp_path / "pids")) == []
    assert "started" in (tmp_path / "log").read_text()


def test_a_script_that_closes_its_output_still_runs_to_its_end(tmp_path):
    run = tmp_path / "run.sh"
    run.write_text('echo before\nexec > /dev/null 2>&1\nsleep 1\necho done > marker\nexit 4\n')
    text, _ = script.render(run, tmp_path, {}, "t")
    assert script.run(text, tmp_path, {}, tmp_path / "log", None) == 4
    assert (tmp_path / "marker").read_text() == "done\n"


def _run_in_thread(text: str, tmp_path: Path) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def target() -> None:
        try:
            script.run(text, tmp_path, {}, tmp_path / "log", None)
        except BaseException as exc:  # noqa: BLE001 - the thread reports what it got
            raised.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, raised


def test_terminate_all_forwards_the_signal(tmp_path, monkeypatch):
    # the script's own trap answers the forwarded SIGTERM; the grace is long, so how soon the loaded
    # machine lets it run does not matter (the group is empty, and terminate_all returns, once it has)
    monkeypatch.setattr(procs, "GRACE", 120.0)
    run = tmp_path / "run.sh"
    run.write_text('trap "echo got-TERM; exit 7" TERM\nsleep 300 &\necho $$ $! > pids.tmp\nmv pids.tmp pids\nwait\n')
    text, _ = script.render(run, tmp_path, {}, "t")
    thread, raised = _run_in_thread(text, tmp_path)
    try:
        _wait_file(tmp_path / "pids")  # written after the trap is set
        assert procs.terminate_all(signal.SIGTERM) == 1
        thread.join(60)
        assert isinstance(raised[0], Interrupted) and raised[0].signum == signal.SIGTERM
        assert _wait_gone(_pids(tmp_path / "pids")) == []
        assert "got-TERM" in (tmp_path / "log").read_text()  # the script saw the forwarded signal
        with pytest.raises(Interrupted):  # nothing starts while cmx stops
            script.run(text, tmp_path, {}, tmp_path / "log", None)
    finally:
        procs.resume()


def test_terminate_all_kills_what_ignores_the_signal(tmp_path):
    run = tmp_path / "run.sh"
    run.write_text(IGNORING + 'echo $$ $! > pids.tmp\nmv pids.tmp pids\nsleep 300 & wait\n')
    text, _ = script.render(run, tmp_path, {}, "t")
    thread, raised = _run_in_thread(text, tmp_path)
    try:
        _wait_file(tmp_path / "pids")
        assert procs.terminate_all(signal.SIGTERM) == 1  # SIGTERM, then SIGKILL after GRACE (0.5 s here)
        thread.join(60)
        assert isinstance(raised[0], Interrupted) and raised[0].signum == signal.SIGTERM
        assert _wait_gone(_pids(tmp_path / "pids")) == []
    finally:
        procs.resume()


def test_the_watchdog_stops_registered_groups_when_cmx_dies(tmp_path):
    pids = tmp_path / "pids"
    child = subprocess.Popen(["bash", "-c", IGNORING + 'a=$!; sleep 300 & echo $$ $a $! > pids.tmp; mv pids.tmp pids; wait'],
                             start_new_session=True, cwd=tmp_path)
    _wait_file(pids)  # both children started, the first ignoring SIGTERM
    members = _pids(pids)
    dog = subprocess.Popen([sys.executable, "-I", "-S", str(WATCHDOG), "0.5"], stdin=subprocess.PIPE,
                           start_new_session=True)
    assert dog.stdin is not None
    dog.stdin.write(f"+{child.pid}\n+999999\n-999999\n".encode())
    dog.stdin.close()  # as when cmx is SIGKILLed: end of file
    assert dog.wait(60) == 0
    child.wait(60)
    assert _wait_gone(members) == []


def test_the_watchdog_forgets_finished_groups(tmp_path):
    other = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        dog = subprocess.Popen([sys.executable, "-I", "-S", str(WATCHDOG), "0.5"], stdin=subprocess.PIPE)
        assert dog.stdin is not None
        dog.stdin.write(f"+{other.pid}\n-{other.pid}\n".encode())
        dog.stdin.close()
        assert dog.wait(60) == 0
        assert _alive([other.pid]) == [other.pid]
    finally:
        other.kill()
        other.wait()


def test_exit_codes_follow_the_shell_convention():
    assert procs.exit_code(signal.SIGINT) == 130 and procs.exit_code(signal.SIGTERM) == 143


def test_a_signal_while_a_script_starts_is_acted_on_once_its_group_is_registered(tmp_path, monkeypatch):
    """SIGTERM to cmx right after the script's process exists (under load, the start of a script can
    take long enough for the script to be well under way): cmx's handler must not unwind the start
    before the group is registered, or nothing ever stops the script."""
    import os

    from cmx.cli import main as cli

    run = tmp_path / "run.sh"
    run.write_text('echo $$ > pids.tmp\nmv pids.tmp pids\nsleep 300 & wait\n')
    text, _ = script.render(run, tmp_path, {}, "t")
    real_popen = subprocess.Popen
    started: list[subprocess.Popen] = []

    def popen_then_signal(argv, *args, **kwargs):
        proc = real_popen(argv, *args, **kwargs)
        if any(str(tmp_path) in str(a) for a in argv):  # the script's start, not the watchdog's
            started.append(proc)
            os.kill(os.getpid(), signal.SIGTERM)  # cmx's handler runs at once, inside spawn
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    previous = signal.signal(signal.SIGTERM, cli._on_signal)
    try:
        with pytest.raises(Interrupted) as raised:
            script.run(text, tmp_path, {}, tmp_path / "log", None)
        assert raised.value.signum == signal.SIGTERM
        monkeypatch.undo()
        assert procs.terminate_all(signal.SIGTERM) == 1  # what cmx does next: the group is known
        started[0].wait(60)
        deadline = time.monotonic() + 60
        while procs.group_alive(started[0].pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not procs.group_alive(started[0].pid)
    finally:
        signal.signal(signal.SIGTERM, previous)
        procs.resume()
        for proc in started:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_signal_while_a_script_fails_to_start_is_not_lost(tmp_path, monkeypatch):
    """SIGINT to cmx while it starts a script (the handler defers it), and the start fails (fork or exec
    refused): cmx stops on the signal, 130, not on the start's error, and no signal stays deferred to
    be raised by the next script's start."""
    import os

    from cmx.cli import main as cli

    def signal_then_fail(argv, *args, **kwargs):
        if argv and argv[0] == "/bin/sh":  # the script's gate, not the watchdog
            os.kill(os.getpid(), signal.SIGINT)  # cmx's handler runs at once, inside spawn: deferred
            raise OSError(11, "Resource temporarily unavailable")
        return real_popen(argv, *args, **kwargs)

    real_popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", signal_then_fail)
    previous = signal.signal(signal.SIGINT, cli._on_signal)
    try:
        with pytest.raises(Interrupted) as raised:
            procs.spawn(["true"], stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert raised.value.signum == signal.SIGINT
        monkeypatch.undo()
        proc = procs.spawn(["true"], stdin=subprocess.DEVNULL, cwd=tmp_path)  # nothing left deferred
        assert proc.wait(60) == 0
        procs.release(proc)
    finally:
        signal.signal(signal.SIGINT, previous)
        procs.resume()
