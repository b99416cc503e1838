"""What a Slurm job runs on the compute node (pickled by submitit, so plain module-level functions).

A job runs one ``python -m cmx_slurm.node`` process (an argv list, never a shell) that executes the
plan made on the submitting machine, handed to it on stdin (cmx_slurm/carrier.py), with ``CMX_HOME``
pointing at the shared store; the job hands back its exit code, its JSON and when it ran. The
process is a child, so cmx's own process groups and watchdog work as in a local run: a job
cancelled by ``scancel`` stops the build, and the store publishes nothing half-built.

The job's probes are the compute node's (cmx/host.py): a ``CMX_HOST_ID`` merely inherited from the
submitting machine (sbatch exports its environment) is dropped; one given to the job itself, with
another value (``--slurm.extra=--export=ALL,CMX_HOST_ID=...``), is kept.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from cmx.host import HOST_ENV


def run_plan(plan: bytes, home: str, log: str | None = None, submitter_host: str | None = None,
             verbose: bool = False) -> dict[str, Any]:
    """Run the shipped ``plan`` (cmx_slurm.carrier.pack) with CMX_HOME=home; stderr goes to ``log``, or
    to this job's own log. ``submitter_host``: the submitting machine's CMX_HOST_ID, if it had one."""
    env = dict(os.environ, CMX_HOME=home)
    if submitter_host is not None and env.get(HOST_ENV) == submitter_host:
        del env[HOST_ENV]  # the submitter's identity, not this node's
    started = time.time()
    t0 = time.perf_counter()
    restart = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    with open(log, "ab") if log else open(os.devnull, "wb") as err:
        if restart:  # the log of a re-queued job (or array task) holds every attempt: say where this one starts
            line = f"cmx: slurm: attempt {restart + 1} (re-queued by Slurm)\n".encode()
            (err if log else sys.stderr.buffer).write(line)
            (err if log else sys.stderr.buffer).flush()
        proc = subprocess.run([sys.executable, "-m", "cmx_slurm.node", *(["-v"] if verbose else [])], input=plan,
                              stdout=subprocess.PIPE, stderr=err if log else None, env=env, check=False)
    text = proc.stdout.decode("utf-8", "replace")
    try:
        out = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        out = {}
    return {"exit_code": proc.returncode, "restart": restart, "json": out, "host": env.get(HOST_ENV) or socket.gethostname(), "started": started,
            "duration_s": round(time.perf_counter() - t0, 3)}
