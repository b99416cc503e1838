"""Submit cmx work to Slurm through submitit, wait with progress, report failures.

One ``cmx run script`` becomes one job; the points of an experiment become one job array. The
submitting machine resolves the plan and ships it to the job as data (cmx_slurm/carrier.py); the
job runs that plan (cmx_slurm/node.py): a recipe file changed since planning makes the job fail
with exit 2, naming the recipe and the file, instead of running something else.
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
    # one process a job: run in the batch step itself, not in a job step of srun's (a second launch
    # through slurmctld and slurmd, ~0.3-0.5 s a job here, for nothing: a plan is one process)
    ex.update_parameters(**opts.submitit_parameters(name), slurm_use_srun=False)
    return ex


@dataclass(frozen=True)
class JobState:
    state: str  # Slurm's state: PENDING, RUNNING, COMPLETED, CANCELLED, ...
    restarts: int  # how often Slurm re-queued the job (scontrol requeue, preemption, a failed node)


def states(job_ids: Sequence[str]) -> dict[str, JobState]:
    """Slurm's state of each job id (``123`` or ``123_4``), from one ``squeue`` call; a job that
    already left the controller's memory is missing from the answer."""
    if not job_ids:
        return {}
    base = sorted({j.split("_")[0] for j in job_ids})
    proc = subprocess.run(["squeue", "-h", "--states=all", "-r", "-O", "JobArrayID:48,State:24,RestartCnt:12",
                           "-j", ",".join(base)], capture_output=True, text=True, timeout=60, check=False)
    out: dict[str, JobState] = {}
    for line in proc.stdout.splitlines():
        words = line.split()
        if len(words) >= 2:
            out[words[0]] = JobState(words[1], int(words[2]) if len(words) > 2 and words[2].isdigit() else 0)
    return out


PENDING_STATES = ("PENDING", "REQUEUED", "CONFIGURING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")


def wait(jobs: Sequence[Any], say: Callable[[str], None], on_done: Callable[[int, Outcome], None] | None = None,
         label: str = "slurm") -> list[Outcome]:
    """Wait for submitit jobs; print pending/running/done/failed counts when they change.

    A job's answer is final when it succeeded, or when Slurm says the job is over. The answer of
    an attempt that Slurm re-queued (``--slurm.requeue``: ``scontrol requeue``, preemption, a
    failed node) is not: the job runs again and its next answer replaces that file."""
    outcomes: dict[int, Outcome] = {}
    stale: dict[int, tuple[int, int]] = {}  # the result file of an attempt Slurm re-queued (inode, mtime)
    restarts: dict[int, int] = {}
    last = ""
    missing_since: dict[int, float] = {}

    def close(k: int, o: Outcome) -> None:
        outcomes[k] = o
        if on_done:
            on_done(k, o)

    while len(outcomes) < len(jobs):
        open_ = [k for k in range(len(jobs)) if k not in outcomes]
        answers: dict[int, tuple[str, Any]] = {}
        for k in open_:  # a result file is the cheapest sign of a finished job
            stamp = _stamp(jobs[k].paths.result_pickle)
            if stamp is None or stamp == stale.get(k):
                continue
            answer = _read_result(jobs[k])
            if answer is not None and _succeeded(answer):
                close(k, Outcome(str(jobs[k].job_id), "COMPLETED", answer[1], str(jobs[k].paths.stderr)))
            else:
                answers[k] = answer if answer is not None else ("error", "no readable result")
        open_ = [k for k in range(len(jobs)) if k not in outcomes]
        now = states([str(jobs[k].job_id) for k in open_]) if open_ else {}
        counts = {"pending": 0, "running": 0}
        for k in open_:
            jid = str(jobs[k].job_id)
            js = now.get(jid)
            if js is not None and js.restarts > restarts.get(k, 0):
                restarts[k] = js.restarts
                say(f"{label}: job {jid} re-queued by Slurm (attempt {js.restarts + 1})")
            if k in answers:  # cmx failed in this job, or was stopped: final once Slurm says the job is over
                answer = answers[k]
                attempt = answer[1].get("restart") if answer[0] == "success" and isinstance(answer[1], dict) else None
                if js is not None and attempt is not None and js.restarts > int(attempt):
                    stale[k] = _stamp(jobs[k].paths.result_pickle) or (0, 0)  # an earlier attempt's answer
                elif js is None or js.state in DONE_STATES:
                    close(k, _failed(jobs[k], js.state if js is not None and js.state in FAILED_STATES else "FAILED",
                                     answer))
                    continue
            elif js is None or js.state in DONE_STATES:
                # finished (or forgotten by the controller) without a result yet: give the file a moment
                first = missing_since.setdefault(k, time.monotonic())
                if jobs[k].paths.result_pickle.exists() or time.monotonic() - first < 3.0:
                    continue
                close(k, Outcome(jid, js.state if js is not None else "UNKNOWN", None, str(jobs[k].paths.stderr)))
                continue
            if js is not None and js.state in PENDING_STATES:
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


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _succeeded(answer: tuple[str, Any]) -> bool:
    outcome, value = answer
    return outcome == "success" and not (isinstance(value, dict) and value.get("exit_code"))


def _failed(job: Any, state: str, answer: tuple[str, Any]) -> Outcome:
    """cmx failed in the job, or was stopped by scancel/preemption (the job catches SIGTERM and still
    hands back cmx's exit): Slurm's own state says which."""
    outcome, value = answer
    log = str(job.paths.stderr)
    if outcome != "success":
        return Outcome(str(job.job_id), state, {"error": (str(value).strip().splitlines() or ["?"])[-1]}, log)
    return Outcome(str(job.job_id), state, value if isinstance(value, dict) else {"error": repr(value)}, log)


def _read_result(job: Any) -> tuple[str, Any] | None:
    from submitit.core import utils

    for _ in range(50):  # the file may be visible before it is complete on a shared filesystem
        try:
            return utils.pickle_load(job.paths.result_pickle)  # type: ignore[no-any-return]
        except EOFError:
            time.sleep(0.1)
        except Exception:  # unreadable: the job's own failure
            return None
    return None


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
