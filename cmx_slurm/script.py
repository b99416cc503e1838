"""``cmx run script ... --executor=slurm``: one plan, made here, shipped to one Slurm job that runs it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cmx import lockfile
from cmx.host import HOST_ENV
from cmx_slurm import submit
from cmx_slurm.options import SlurmOptions

# keys of the input dict that stay on the submitting machine
_LOCAL = {"action", "automation", "artifact", "artifacts", "executor", "slurm", "detach", "j", "json", "lock",
          "frozen", "dry_run", "fake_run", "explain", "quiet", "silent", "v", "verbose", "out"}


def cli_flags(i: dict[str, Any]) -> list[str]:
    """The flags of this run again, for the job's ``cmx run script`` (an argv list, never shell text)."""
    out: list[str] = []
    names = i.get("artifacts") or ([i["artifact"]] if i.get("artifact") else [])
    out += [str(a) for a in names]
    for k, v in sorted(i.items()):
        if k not in _LOCAL:
            out += _flags(k, v)
    if i.get("v") or i.get("verbose"):
        out.append("-v")
    return out


def _flags(key: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f for k, v in sorted(value.items()) for f in _flags(f"{key}.{k}", v)]
    if value is True:
        return [f"--{key}"]
    if value is False:
        return [f"--{key}=no"]
    if isinstance(value, (list, tuple)):
        return [f"--{key},=" + ",".join(str(x) for x in value)]
    return [f"--{key}={value}"]


def job_folder(cache_root: Path) -> Path:
    folder = cache_root / "slurm" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_script(i: dict[str, Any], ctx: Any, plan: Any, statuses: list[Any], options: Any,
               info: dict[str, Any]) -> dict[str, Any]:
    """Submit the plan made here as one job that runs it (cmx_slurm/node.py), wait for it (or return its
    id with --detach), and return the job's answer: the same JSON as a local ``cmx run script -j``."""
    from cmx_slurm import carrier
    from cmx_slurm.job import run_plan

    opts = SlurmOptions.from_input(i)
    submit.check_available()
    engine = ctx.engine
    folder = job_folder(engine.home.cache_root)
    lock_path = folder / "plan.lock"  # what the job was given, readable (the job runs the shipped plan)
    lockfile.write(lock_path, engine.lock_for(plan, statuses, info))
    keys = {s.node.index: s.key for s in statuses}
    shipped = carrier.pack(plan, keys, options, info)
    ex = submit.executor(folder, opts, f"cmx-{plan.root.alias}")
    job = ex.submit(run_plan, shipped, str(engine.home.root), None, os.environ.get(HOST_ENV), options.verbose)
    rerun = submit.rerun_command(["run", "script", *cli_flags(i), "--executor=slurm",
                                  *_flags("slurm", i.get("slurm") or {})])
    if i.get("detach"):
        # the same run through Slurm: its entries are hits in a job like this one (a local run here would rebuild
        # what depends on a probe whose facts differ from the node's), and it waits while this job still builds
        collect = rerun + " -j"
        (folder / "job.json").write_text(json.dumps({"job_id": job.job_id, "collect": collect}) + "\n",
                                         encoding="utf-8")
        ctx.echo(f"slurm: submitted job {job.job_id} (log: {job.paths.stderr}); when it is done "
                 f"(squeue -j {job.job_id}), collect the result with: {collect}")
        return {"detached": True, "job_ids": [str(job.job_id)], "log": str(job.paths.stderr),
                "collect": collect, "lock": str(lock_path)}
    say = (lambda line: None) if ctx.quiet else ctx.echo
    (outcome,) = submit.wait([job], say)
    if outcome.state != "COMPLETED" or not outcome.result or outcome.result.get("exit_code"):
        res = outcome.result or {}
        err = submit.SlurmError(submit.failure(outcome, rerun))
        code = res.get("exit_code")
        if code == 2:
            err.exit_code = 2  # the job refused to run (a recipe changed since planning): bad input
        err.json_extra = {"slurm": {"job_id": outcome.job_id, "state": outcome.state, "log": outcome.log,  # type: ignore[attr-defined]
                                    "rerun": rerun}}
        raise err
    return dict(outcome.result["json"])
