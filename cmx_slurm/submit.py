"""Submit cmx work to Slurm through submitit, wait with progress, report failures.

One ``cmx run script`` becomes one job; the points of an experiment become one job array. The
submitting machine resolves the plan and writes it as a lockfile into the job folder; each job
runs ``cmx run script ... --frozen LOCK``: a recipe file changed since planning makes the job
fail with the list of differences (exit 2) instead of running something else.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from cmx.errors import CmxError, UsageError
from cmx_slurm.options import SlurmOptions

# Slurm states after which a job will not run again by itself
FAILED_STATES = ("CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
                 "PREEMPTED", "SPECIAL_EXIT")
DONE_STATES = ("COMPLETED",) + FAILED_STATES
POLL_S = 0.2


class SlurmError(CmxError):
    """A job failed, was cancelled or preempted: its id, state, log and the re-run command."""

    exit_code = 1


@dataclass(frozen=True)
class Outcome:
    job_id: str
    state: str  # COMPLETED, or a failure state
    result: dict[str, Any] | None  # run_cmx's answer, when the job finished
    log: str


def check_available() -> None:
    """A usage error naming the reason when this machine cannot submit to Slurm."""
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise UsageError("--executor=slurm: sinfo is not installed here (no Slurm client)",
                         hint="see docs/slurm.md to start a single-node Slurm for trying it out") from None
    except subprocess.TimeoutExpired:
        raise UsageError("--executor=slurm: sinfo did not answer within 30 s (is slurmctld running?)") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no answer"])[0]
        raise UsageError(f"--executor=slurm: Slurm is not reachable: {first}",
                         hint="is slurmctld running? see docs/slurm.md")


def executor(folder: Path, opts: SlurmOptions, name: str) -> Any:
    import submitit  # only with --executor=slurm

    ex = submitit.AutoExecutor(folder=str(folder / "%j"), cluster="slurm")
    ex.update_parameters(**opts.submitit_parameters(name))
    return ex


def states(job_ids: Sequence[str]) -> dict[str, str]:
    """Slurm's state of each job id (``123`` or ``123_4``), from one ``squeue`` call; a job that
    already left the controller's memory is missing from the answer."""
    if not job_ids:
        return {}
    base = sorted({j.split("_")[0] for j in job_ids})
    proc = subprocess.run(["squeue", "-h", "--states=all", "-r", "-o", "%i|%T", "-j", ",".join(base)],
                          capture_output=True, text=True, timeout=60, check=False)
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        jid, _, state = line.strip().partition("|")
        out[jid] = state.split()[0] if state else "UNKNOWN"
    return out


def wait(jobs: Sequence[Any], say: Callable[[str], None], on_done: Callable[[int, Outcome], None] | None = None,
         label: str = "slurm") -> list[Outcome]:
    """Wait for submitit jobs; print pending/running/done/failed counts when they change."""
    outcomes: dict[int, Outcome] = {}
    last = ""
    missing_since: dict[int, float] = {}
    while len(outcomes) < len(jobs):
        open_ = [k for k in range(len(jobs)) if k not in outcomes]
        for k in open_:  # a result file is the cheapest sign of a finished job
            if jobs[k].paths.result_pickle.exists():
                outcomes[k] = _finish(jobs[k], "COMPLETED")
                if on_done:
                    on_done(k, outcomes[k])
        open_ = [k for k in range(len(jobs)) if k not in outcomes]
        now = states([str(jobs[k].job_id) for k in open_]) if open_ else {}
        counts = {"pending": 0, "running": 0}
        for k in open_:
            state = now.get(str(jobs[k].job_id))
            if state in DONE_STATES or state is None:
                # finished (or forgotten by the controller) without a result yet: give the file a moment
                first = missing_since.setdefault(k, time.monotonic())
                if jobs[k].paths.result_pickle.exists() or time.monotonic() - first < 3.0:
                    continue
                outcomes[k] = _finish(jobs[k], state or "UNKNOWN")
                if on_done:
                    on_done(k, outcomes[k])
            elif state in ("PENDING", "REQUEUED", "CONFIGURING", "SUSPENDED", "REQUEUE_HOLD", "RESV_DEL_HOLD"):
                counts["pending"] += 1
            else:
                counts["running"] += 1
        done = sum(o.state == "COMPLETED" for o in outcomes.values())
        line = (f"{label}: {counts['pending']} pending, {counts['running']} running, {done} done, "
                f"{len(outcomes) - done} failed (of {len(jobs)})")
        if line != last:
            say(line)
            last = line
        if len(outcomes) < len(jobs):
            time.sleep(POLL_S)
    return [outcomes[k] for k in range(len(jobs))]


def _finish(job: Any, state: str) -> Outcome:
    log = str(job.paths.stderr)
    if state != "COMPLETED" and not job.paths.result_pickle.exists():
        return Outcome(str(job.job_id), state, None, log)
    try:
        outcome, value = _read_result(job)
    except Exception as exc:  # an unreadable result: the job's own failure
        return Outcome(str(job.job_id), final_state(str(job.job_id), "FAILED"),
                       {"error": f"no readable result ({exc})"}, log)
    if outcome != "success":
        return Outcome(str(job.job_id), final_state(str(job.job_id), "FAILED"),
                       {"error": (str(value).strip().splitlines() or ["?"])[-1]}, log)
    if isinstance(value, dict) and value.get("exit_code"):
        # cmx failed in the job, or was stopped by scancel/preemption (the job catches SIGTERM and still
        # hands back cmx's exit): Slurm's own state says which
        return Outcome(str(job.job_id), final_state(str(job.job_id), "FAILED"), value, log)
    return Outcome(str(job.job_id), "COMPLETED", value, log)


def final_state(job_id: str, default: str, within_s: float = 10.0) -> str:
    """The job's terminal Slurm state (CANCELLED, TIMEOUT, ...), waiting briefly while it settles."""
    deadline = time.monotonic() + within_s
    while True:
        state = states([job_id]).get(job_id)
        if state in FAILED_STATES:
            return state
        if state in (None, "COMPLETED") or time.monotonic() > deadline:
            return default  # Slurm saw the job end normally: cmx itself failed in it
        time.sleep(POLL_S)


def _read_result(job: Any) -> tuple[str, Any]:
    from submitit.core import utils

    for _ in range(50):  # the file may be visible before it is complete on a shared filesystem
        try:
            return utils.pickle_load(job.paths.result_pickle)
        except EOFError:
            time.sleep(0.1)
    return utils.pickle_load(job.paths.result_pickle)


def rerun_command(argv: Sequence[str]) -> str:
    return "cmx " + " ".join(shlex.quote(a) for a in argv)


def failure(o: Outcome, rerun: str) -> str:
    why = ""
    if o.result and o.result.get("json", {}).get("error"):
        why = f": {str(o.result['json']['error']).splitlines()[0]}"
    elif o.result and o.result.get("error"):
        why = f": {o.result['error']}"
    elif o.result and o.result.get("exit_code"):
        why = f": cmx exited with {o.result['exit_code']}"
    return f"Slurm job {o.job_id} {o.state}{why} (log: {o.log}); re-run: {rerun}"


def progress_printer() -> Callable[[str], None]:
    return lambda line: print(line, file=sys.stderr, flush=True)
