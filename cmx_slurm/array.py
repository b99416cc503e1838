"""``cmx run experiment ... --executor=slurm``: the points still to run become one Slurm job array.

Finished points are skipped on the submitting machine (nothing is submitted for them); each
array task runs its point's plan, made here and shipped to it (cmx_slurm/carrier.py), on a compute
node against the shared store, and the records are written here as the tasks finish, so an
interrupted wait loses nothing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable

from cmx import automation
from cmx.host import HOST_ENV
from cmx_slurm import carrier, submit
from cmx_slurm.job import run_plan
from cmx_slurm.options import SlurmOptions
from experiments.plan import PlannedPoint
from experiments.runner import RunSettings, _label, record_from, split_finished
from experiments.store import ExperimentDir


def run_points(planned: list[PlannedPoint], exp: ExperimentDir, settings: RunSettings,
               on_done: Callable[[dict[str, Any]], None], say: Callable[[str], None],
               i: dict[str, Any]) -> list[dict[str, Any]]:
    """As experiments.runner.run_points, with the points to run submitted as one job array."""
    opts = SlurmOptions.from_input(i)
    records, todo = split_finished(planned, exp, settings, on_done)
    if not todo:
        say(f"experiment: all {len(planned)} points already done; nothing submitted")
        return [records[p.request.point.index] for p in planned]
    submit.check_available()
    folder = exp.root / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    ex = submit.executor(folder, opts, f"cmx-exp-{planned[0].recipe}")
    home = str(exp.home_root)
    script = automation.load("script")
    flags = {k[2:]: True for k in settings.passthrough if k.startswith("--")}  # --new, --skip_cache
    verbose = "-v" in settings.passthrough
    plans = []
    for p in todo:  # each task runs its point from the plan made here (and refuses a changed recipe)
        options = dataclasses.replace(p.options, new=bool(flags.get("new")), skip_cache=bool(flags.get("skip_cache")),
                                      verbose=verbose)
        plans.append(carrier.pack(p.plan, p.keys, options, script.request_info({**p.request.as_input(), **flags})))
    logs = [str(exp.log_path(p.point_id)) for p in todo]
    n = len(todo)
    jobs = ex.map_array(run_plan, plans, [home] * n, logs, [os.environ.get(HOST_ENV)] * n, [verbose] * n)
    array_id = str(jobs[0].job_id).split("_")[0]
    say(f"experiment: {len(planned) - len(todo)} of {len(planned)} points already done; submitted "
        f"{len(todo)} as Slurm job array {array_id}")
    if i.get("detach"):
        say(f"experiment: when job array {array_id} is done (squeue -j {array_id}), re-run this command "
            f"without --detach to collect the points (finished ones are skipped)")
        for p, job in zip(todo, jobs):
            records[p.request.point.index] = _record_of(p, "submitted", slurm_job_id=str(job.job_id),
                                                        log=str(job.paths.stderr))
        return [records[p.request.point.index] for p in planned]

    def finished(k: int, o: submit.Outcome) -> None:
        p = todo[k]
        if o.state == "COMPLETED" and o.result and "exit_code" in o.result:
            rec = record_from(p, o.result.get("json") or {}, int(o.result["exit_code"]), Path(logs[k]),
                              float(o.result.get("started", 0.0)), float(o.result.get("duration_s", 0.0)))
        else:
            rec = _record_of(p, "failed", reason=submit.failure(o, "cmx run experiment (the same flags)"), log=o.log)
        rec["slurm_job_id"] = o.job_id
        if rec["status"] == "ok":
            exp.save_point(rec)
        else:
            exp.save_failure(rec)
        say(f"  point {p.request.point.index} {_label(p)}: {rec['status']} (job {o.job_id})"
            + (f" ({rec['reason']})" if rec.get("reason") else ""))
        records[p.request.point.index] = rec
        on_done(rec)

    submit.wait(jobs, say, finished, label=f"slurm array {array_id}")
    return [records[p.request.point.index] for p in planned]


def _record_of(p: PlannedPoint, status: str, **extra: Any) -> dict[str, Any]:
    from experiments.runner import _record

    return _record(p, status, **extra)
