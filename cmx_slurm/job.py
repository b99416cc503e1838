"""What a Slurm job runs on the compute node (pickled by submitit, so plain module-level functions).

The job's own process (submitit's) runs the plan made on the submitting machine
(cmx_slurm/carrier.py, cmx_slurm/node.py), with ``CMX_HOME`` pointing at the shared store, and
hands back the exit code, the JSON answer and when it ran. No second interpreter: the run takes
SIGINT/SIGTERM/SIGHUP as the CLI does (submitit's handlers are set aside meanwhile), so a job
cancelled by ``scancel`` or re-queued stops its recipe scripts through cmx's process groups and
watchdog, and the store publishes nothing half-built.

The job's probes are the compute node's (cmx/host.py): a ``CMX_HOST_ID`` merely inherited from the
submitting machine (sbatch exports its environment) is dropped; one given to the job itself, with
another value (``--slurm.extra=--export=ALL,CMX_HOST_ID=...``), is kept.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from typing import Any, Iterator

from cmx.host import HOST_ENV


def run_plan(plan: bytes, home: str, log: str | None = None, submitter_host: str | None = None,
             verbose: bool = False) -> dict[str, Any]:
    """Run the shipped ``plan`` (cmx_slurm.carrier.pack) with CMX_HOME=home; stderr goes to ``log``
    (an experiment point's), or to this job's own log. ``submitter_host``: the submitting machine's
    CMX_HOST_ID, if it had one."""
    os.environ["CMX_HOME"] = home
    if submitter_host is not None and os.environ.get(HOST_ENV) == submitter_host:
        del os.environ[HOST_ENV]  # the submitter's identity, not this node's
    restart = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    started = time.time()
    t0 = time.perf_counter()
    with _stderr_to(log):
        if restart:  # the log of a re-queued job (or array task) holds every attempt: say where this one starts
            print(f"cmx: slurm: attempt {restart + 1} (re-queued by Slurm)", file=sys.stderr, flush=True)
        from cmx_slurm.node import execute

        code, out = execute(plan, verbose)
    return {"exit_code": code, "restart": restart, "json": out, "host": os.environ.get(HOST_ENV) or socket.gethostname(),
            "started": started, "duration_s": round(time.perf_counter() - t0, 3)}


@contextlib.contextmanager
def _stderr_to(log: str | None) -> Iterator[None]:
    """stderr (file descriptor 2, so the recipe scripts' too) appended to ``log`` meanwhile."""
    if not log:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
