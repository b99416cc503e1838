"""Killing or interrupting cmx mid-build: no script survives, nothing half-written is visible,
the next run completes, and cmx says what happened in one line with the shell's exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import run_cmx, store_entries

# the script and its two children: one ordinary, one that ignores SIGTERM and SIGINT (so cmx has to
# escalate to SIGKILL); each writes its pid and the script its process group before waiting
SLOW = "cache: true\ntags: [sigslow]\nnew_env_keys: [SIG_DONE]\n"
SLOW_RUN = """
sleep 300 &
echo $! >> "$SIG_PIDS.tmp"
(trap '' TERM INT HUP; exec sleep 301) &
echo $! >> "$SIG_PIDS.tmp"
echo $$ >> "$SIG_PIDS.tmp"
mv "$SIG_PIDS.tmp" "$SIG_PIDS"
if [ -e "$SIG_MARK" ]; then wait; fi
echo SIG_DONE=yes >> tmp-run-env.out
"""
WRAP = "tags: [sigwrap]\ndeps: [{tags: sigslow}]\n"


def _survivors(pgid: int, pids: list[int]) -> list[int]:
    out = []
    for proc in psutil.process_iter():
        try:
            if (proc.pid in pids or os.getpgid(proc.pid) == pgid) and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except (psutil.Error, ProcessLookupError):
            pass
    return out


def _default_signals() -> None:
    """In the child, before cmx starts: SIGINT, SIGTERM and SIGHUP at their defaults. cmx keeps a
    signal ignored if it was ignored when it started (as under nohup, or a shell's background job,
    which ignores SIGINT): a test runner started that way must not change what is tested here."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _wait_for(predicate, within: float) -> bool:  # a deadline for an expected state, not a measurement
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("signum,jobs,code", [
    (signal.SIGINT, 1, 130), (signal.SIGKILL, 1, -9), (signal.SIGTERM, 2, 143),
    pytest.param(signal.SIGTERM, 1, 143, marks=pytest.mark.slow),
    pytest.param(signal.SIGHUP, 1, 129, marks=pytest.mark.slow),
])
def test_signal_to_cmx_leaves_no_script_running(repo, home, tmp_path, signum, jobs, code):
    repo.add("sigslow", SLOW, SLOW_RUN)
    repo.add("sigwrap", WRAP, "true\n")
    pids_file, mark = tmp_path / "pids", tmp_path / "mark"
    mark.touch()
    args = ["run", "script", "--tags=sigwrap", f"--env.SIG_PIDS={pids_file}", f"--env.SIG_MARK={mark}",
            f"--jobs={jobs}"]
    err = tmp_path / "err.txt"
    with open(err, "w") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", *args], env=dict(os.environ, CMX_HOME=str(home)),
                                stdout=subprocess.DEVNULL, stderr=err_fh, cwd=home, preexec_fn=_default_signals)
        assert _wait_for(lambda: pids_file.exists() or proc.poll() is not None, 60), "the script never started"
        assert proc.poll() is None, err.read_text()
        *children, script_pid = [int(x) for x in pids_file.read_text().split()]
        proc.send_signal(signum)
        assert proc.wait(120) == code
    pgid = script_pid  # the script leads its own process group
    assert _wait_for(lambda: not _survivors(pgid, [script_pid, *children]), 120), _survivors(pgid, [script_pid, *children])
    lines = err.read_text().splitlines()
    if signum != signal.SIGKILL:
        assert lines[-1].startswith(f"cmx: interrupted by {signal.Signals(signum).name}"), lines
        assert "Traceback" not in err.read_text() and "internal error" not in err.read_text()
    for entry in store_entries(home):  # nothing half-written is visible
        record = json.loads((entry / "cmx-entry.json").read_text())
        assert record.get("alias") != "sigslow" and entry.name == record.get("key", entry.name)
    mark.unlink()
    again = run_cmx(*args, "-j", home=home, timeout=120)  # the same keys: no stale lock or folder in the way
    assert again.code == 0, again.err
    built = [json.loads((e / "cmx-entry.json").read_text()) for e in store_entries(home)]
    assert [r["new_env"] for r in built if r["alias"] == "sigslow"] == [{"SIG_DONE": "yes"}]


@pytest.mark.parametrize("signame,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_during_start_up_is_one_line(home, signame, code):
    # the signal arrives while cmx starts (before the flags are parsed and the index is loaded)
    program = (
        "import os, signal, sys\n"
        "from cmx import fastpath\n"
        "from cmx.cli.main import main\n"
        f"fastpath.try_replay = lambda argv: os.kill(os.getpid(), signal.{signame})\n"
        "sys.exit(main(['run', 'script', '--tags=detect,os']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", program], env=dict(os.environ, CMX_HOME=str(home)),
                          capture_output=True, text=True, timeout=120, preexec_fn=_default_signals)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == f"cmx: interrupted by {signame}\n"


def test_the_entry_point_imports_nothing_before_it_handles_signals():
    # a SIGINT before cmx's handlers are installed gets Python's default: a KeyboardInterrupt traceback
    # and exit -2. The console script imports cmx.cli.main and calls it, which installs them first, so
    # that import must pull in nothing more (it pulled in typing, with re, enum and collections: under
    # load a SIGINT 0.15 s after the start found it there)
    program = "import sys\nbefore = set(sys.modules)\nfrom cmx.cli.main import run\nprint(*sorted(set(sys.modules) - before))\n"
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) - {"__future__"} == {"cmx", "cmx.cli", "cmx.cli.main"}


@pytest.mark.parametrize("module,signame,code", [
    ("cmx.execute.procs", "SIGINT", 130), ("cmx.execute.procs", "SIGTERM", 143), ("re", "SIGINT", 130)])
def test_signal_in_the_middle_of_an_import_is_one_line(home, module, signame, code):
    # the signal arrives while `module` is being imported (in sys.modules, its names not yet defined).
    # cmx.execute.procs: the handler asked it `stopping()` (AttributeError, "internal error", exit 1).
    # re (imported by fastpath's json): the handler imported cmx.errors, whose imports (dataclasses,
    # inspect, tokenize) call re.compile on the half-done re (AttributeError, a traceback, exit 1)
    program = (
        "import importlib.abc, importlib.machinery, os, signal, sys\n"
        "from cmx.cli.main import main\n"
        "class SignalDuringImport(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name != {module!r}:\n"
        "            return None\n"
        "        sys.meta_path.remove(self)\n"
        "        spec = importlib.machinery.PathFinder.find_spec(name, path)\n"
        "        real = spec.loader\n"
        "        class Loader(importlib.abc.Loader):\n"
        "            def create_module(self, spec):\n"
        "                return real.create_module(spec)\n"
        "            def exec_module(self, module):\n"
        f"                os.kill(os.getpid(), signal.{signame})  # cmx's handler runs here, at once\n"
        "                real.exec_module(module)\n"
        "        spec.loader = Loader()\n"
        "        return spec\n"
        f"sys.modules.pop({module!r}, None)  # imported afresh, whoever imported it already\n"
        "sys.meta_path.insert(0, SignalDuringImport())\n"
        "sys.exit(main(['run', 'script', '--tags=detect,os']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", program], env=dict(os.environ, CMX_HOME=str(home)),
                          capture_output=True, text=True, timeout=120, preexec_fn=_default_signals)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == f"cmx: interrupted by {signame}\n"
