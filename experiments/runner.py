"""Run the points of an experiment: resumable, in parallel where allowed, failures recorded.

Each point runs as its own ``cmx run script`` process (argv, never a shell), so a point that
crashes or hangs cannot take the others down, and points can run side by side. A finished point
is recorded in ``points/<id>.json`` with one atomic rename; a re-run of the experiment finds that
record and skips the point (``cached: true``). A point killed half-way has no record and runs
again. Failed points are run again too: only a success is final.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

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


def run_points(planned: list[PlannedPoint], exp: ExperimentDir, settings: RunSettings,
               on_done: Callable[[dict[str, Any]], None], say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run (or skip) every point; returns the records in point order."""
    records, todo = split_finished(planned, exp, settings, on_done)
    if todo:
        say(f"experiment: {len(planned) - len(todo)} of {len(planned)} points already done, "
            f"running {len(todo)}" + (f" ({settings.jobs} at a time)" if settings.jobs > 1 else ""))
    stop = threading.Event()
    lock = threading.Lock()

    def one(p: PlannedPoint) -> dict[str, Any]:
        if stop.is_set():
            return _record(p, "not-run", reason="not run: an earlier point failed (--fail_fast)")
        rec = _run_one(p, exp, settings.passthrough)
        if rec["status"] == "ok":
            exp.save_point(rec)
        else:
            exp.save_failure(rec)
            if settings.fail_fast:
                stop.set()
        with lock:
            say(f"  point {p.request.point.index} {_label(p)}: {rec['status']}"
                + (f" ({rec['reason']})" if rec.get("reason") else ""))
            records[p.request.point.index] = rec
            on_done(rec)
        return rec

    if settings.jobs <= 1:
        for p in todo:
            rec = one(p)
            records[p.request.point.index] = rec
    else:
        with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
            futures = {pool.submit(one, p): p for p in todo}
            for f in as_completed(futures):
                rec = f.result()
                records[futures[f].request.point.index] = rec
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


def _run_one(p: PlannedPoint, exp: ExperimentDir, passthrough: tuple[str, ...]) -> dict[str, Any]:
    log = exp.log_path(p.point_id)
    started = time.time()
    t0 = time.perf_counter()
    env = dict(os.environ)
    env["CMX_HOME"] = str(exp.home_root)
    with open(log, "wb") as err:
        proc = subprocess.run(argv_for(p, passthrough), stdout=subprocess.PIPE, stderr=err, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    duration = round(time.perf_counter() - t0, 3)
    try:
        out = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
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
