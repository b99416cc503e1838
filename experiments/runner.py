"""Run the points of an experiment: resumable, in parallel where allowed, failures recorded.

Each point runs as its own ``cmx run script`` process (argv, never a shell), so a point that
crashes or hangs cannot take the others down, and points can run side by side. A finished point
is recorded in ``points/<id>.json`` with one atomic rename; a re-run of the experiment finds that
record and skips the point (``cached: true``). Failed points are run again: only a success is final.

A point process is the leader of its own process group (``cmx.execute.procs.spawn``), registered
with cmx's watchdog. When the experiment gets SIGINT, SIGTERM or SIGHUP, it starts no new point,
forwards the signal to the points in flight (SIGKILL after the grace period), records each of
them as ``interrupted`` with the reason, and exits 128 + N. A re-run says which points were
interrupted (or failed) last time and runs them again. Under ``kill -9`` nothing can be recorded:
the watchdog stops the points in flight, and they run again as points without a record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cmx.errors import Interrupted
from cmx.execute import procs
from experiments.plan import PlannedPoint, is_current
from experiments.store import ExperimentDir

FLEXBENCH_RESULT = "CMX_FLEXBENCH_RESULT"


@dataclass(frozen=True)
class RunSettings:
    jobs: int = 1
    fail_fast: bool = False
    restart: bool = False  # ignore the records of finished points
    passthrough: tuple[str, ...] = ()  # flags given to every point's run (--new, --skip_cache, -v)


def argv_for(p: PlannedPoint, passthrough: tuple[str, ...]) -> list[str]:
    args = [sys.executable, "-m", "cmx.cli.main", "run", "script"]
    for k, v in p.request.as_input().items():
        if k in ("action", "automation"):
            continue
        args += _flags(k, v)
    return args + list(passthrough) + ["-j"]


def _flags(key: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _flags(f"{key}.{k}", v)]
    if value is True:
        return [f"--{key}"]
    if isinstance(value, (list, tuple)):
        return [f"--{key},=" + ",".join(str(x) for x in value)]
    return [f"--{key}={value}"]


def split_finished(planned: list[PlannedPoint], exp: ExperimentDir, settings: RunSettings,
                   on_done: Callable[[dict[str, Any]], None]) -> tuple[dict[int, dict[str, Any]], list[PlannedPoint]]:
    """The records of the points that finished with the same resolved inputs (reported through
    ``on_done`` as cached), and the points still to run."""
    records: dict[int, dict[str, Any]] = {}
    todo: list[PlannedPoint] = []
    for p in planned:
        done = None if settings.restart else exp.finished(p.point_id)
        if done is not None and is_current(p, done):
            rec = dict(done, index=p.request.point.index, cached=True)
            records[p.request.point.index] = rec
            on_done(rec)
        else:
            todo.append(p)
    return records, todo


def previous_runs(todo: list[PlannedPoint], exp: ExperimentDir) -> dict[str, dict[str, Any]]:
    """The records of the points to run that did not succeed last time (interrupted, failed), by id."""
    out = {}
    for p in todo:
        rec = exp.record(p.point_id)
        if rec is not None and rec.get("status") in ("interrupted", "failed"):
            out[p.point_id] = rec
    return out


class _Halt:
    """Set once by the thread that waits for the points: no new point starts, and the points in
    flight are recorded as interrupted by the signal."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum = 0  # 0: halted by --fail_fast

    def interrupt(self, signum: int) -> None:
        self.signum = signum
        self.event.set()


def run_points(planned: list[PlannedPoint], exp: ExperimentDir, settings: RunSettings,
               on_done: Callable[[dict[str, Any]], None], say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run (or skip) every point; returns the records in point order. On SIGINT/SIGTERM/SIGHUP
    (``Interrupted``) the points in flight are stopped and recorded as interrupted, then it re-raises."""
    records, todo = split_finished(planned, exp, settings, on_done)
    before = previous_runs(todo, exp)
    if todo:
        say(f"experiment: {len(planned) - len(todo)} of {len(planned)} points already done, "
            f"running {len(todo)}" + (f" ({settings.jobs} at a time)" if settings.jobs > 1 else ""))
    for p in todo:
        if p.point_id in before:
            prev = before[p.point_id]
            say(f"  point {p.request.point.index} {_label(p)}: {prev['status']} last time"
                + (f" ({prev['reason']})" if prev.get("reason") else "") + "; running it again")
    halt = _Halt()
    lock = threading.Lock()

    def one(p: PlannedPoint) -> dict[str, Any] | None:
        if halt.event.is_set():
            if halt.signum:
                return None  # never started: it simply runs on the next run
            return _record(p, "not-run", reason="not run: an earlier point failed (--fail_fast)")
        rec = _run_one(p, exp, settings.passthrough, halt)
        if rec is None:
            return None
        if p.point_id in before:
            rec["previous_status"] = before[p.point_id]["status"]
        if rec["status"] == "ok":
            exp.save_point(rec)
        else:
            exp.save_failure(rec)
            if settings.fail_fast and rec["status"] == "failed":
                halt.event.set()
        with lock:
            say(f"  point {p.request.point.index} {_label(p)}: {rec['status']}"
                + (f" ({rec['reason']})" if rec.get("reason") else ""))
            records[p.request.point.index] = rec
            on_done(rec)
        return rec

    # the points run in worker threads (one for --jobs 1); this thread only waits, so a signal
    # reaches it here and never in the middle of a point's bookkeeping
    pool = ThreadPoolExecutor(max_workers=max(1, settings.jobs))
    futures = {pool.submit(one, p): p for p in todo}
    try:
        for f in as_completed(futures):
            rec = f.result()
            if rec is not None:
                records[futures[f].request.point.index] = rec
    except KeyboardInterrupt as exc:  # Interrupted: SIGINT, SIGTERM or SIGHUP (cmx/cli/main.py)
        signum = getattr(exc, "signum", signal.SIGINT)
        halt.interrupt(signum)
        procs.terminate_all(signum)  # the points in flight get the signal (SIGKILL after the grace)
        pool.shutdown(wait=True, cancel_futures=True)  # their records are written before cmx exits
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [records[p.request.point.index] for p in planned]


def _label(p: PlannedPoint) -> str:
    return " ".join(f"{k}={v}" for k, v in p.request.point.values)


def _record(p: PlannedPoint, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "index": p.request.point.index,
        "point_id": p.point_id,
        "inputs": p.request.point.as_dict(),
        "request": p.request.identity(),
        "recipe": p.recipe,
        "root_key": p.root_key,
        "status": status,
        "cached": False,
        "reason": None,
        **extra,
    }


def _run_one(p: PlannedPoint, exp: ExperimentDir, passthrough: tuple[str, ...],
             halt: _Halt | None = None) -> dict[str, Any] | None:
    """Run one point's ``cmx run script`` process; its record, or None when the experiment was
    interrupted before the point started."""
    log = exp.log_path(p.point_id)
    started = time.time()
    t0 = time.perf_counter()
    env = dict(os.environ)
    env["CMX_HOME"] = str(exp.home_root)
    with open(log, "wb") as err:
        try:
            proc = procs.spawn(argv_for(p, passthrough), stdout=subprocess.PIPE, stderr=err, env=env,
                               stdin=subprocess.DEVNULL)
        except Interrupted:
            return None
        try:
            stdout, _ = proc.communicate()
        finally:
            procs.release(proc)  # what the point left in its group, and the watchdog's entry
    duration = round(time.perf_counter() - t0, 3)
    if halt is not None and halt.signum and proc.returncode != 0:
        name = procs.signal_name(halt.signum)
        return _record(p, "interrupted", reason=f"interrupted by {name} while running; it runs again on the next run",
                       started=started, duration_s=duration, log=str(log), exit_code=proc.returncode)
    try:
        out = json.loads(stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError:
        out = {}
    return record_from(p, out, proc.returncode, log, started, duration)


def record_from(p: PlannedPoint, out: dict[str, Any], returncode: int, log: Path, started: float,
                duration: float) -> dict[str, Any]:
    """A point's record from its ``cmx run script -j`` answer (here, or in a Slurm job: cmx_slurm)."""
    common = {"started": started, "duration_s": duration, "log": str(log), "exit_code": returncode}
    if returncode != 0:
        reason = out.get("error") or _last_error(log) or f"exit code {returncode}"
        return _record(p, "failed", reason=str(reason).splitlines()[0], **common)
    new_env = out.get("new_env") or {}
    result_json = new_env.get(FLEXBENCH_RESULT)
    status, reason = "ok", None
    if result_json:
        summary = _read_json(Path(str(result_json)))
        if summary is not None and summary.get("status") != "ok":
            status, reason = "failed", str(summary.get("failure") or "the benchmark failed")
    return _record(p, status, reason=reason, recipe_cached=bool(out.get("cached")), cache_path=out.get("cache_path"),
                   key=out.get("key"), new_env=new_env, result_json=result_json, **common)


def _last_error(log: Path) -> str | None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    errors = [line for line in lines if line.startswith("cmx: error:")]
    if errors:
        return errors[-1][len("cmx: error:"):].strip()
    return lines[-1].strip() if lines else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
