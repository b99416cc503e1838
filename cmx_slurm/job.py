"""What a Slurm job runs on the compute node (pickled by submitit, so plain module-level functions).

A job runs one ``cmx run script`` process from an argv list (never a shell), with ``CMX_HOME``
pointing at the shared store, and hands back its exit code, its JSON and the tail of its stderr.
The process is a child, so cmx's own process groups and watchdog work as in a local run: a job
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


def run_cmx(args: list[str], home: str, log: str | None = None, submitter_host: str | None = None) -> dict[str, Any]:
    """Run ``python -m cmx.cli.main ARGS`` with CMX_HOME=home; stderr goes to this job's log.
    ``submitter_host``: the submitting machine's CMX_HOST_ID, if it had one."""
    env = dict(os.environ, CMX_HOME=home)
    if submitter_host is not None and env.get(HOST_ENV) == submitter_host:
        del env[HOST_ENV]  # the submitter's identity, not this node's
    started = time.time()
    t0 = time.perf_counter()
    with open(log, "ab") if log else open(os.devnull, "wb") as err:
        proc = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], stdout=subprocess.PIPE,
                              stderr=err if log else None, stdin=subprocess.DEVNULL, env=env, check=False)
    text = proc.stdout.decode("utf-8", "replace")
    try:
        out = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        out = {}
    return {"exit_code": proc.returncode, "restart": int(os.environ.get("SLURM_RESTART_COUNT") or 0), "json": out, "host": env.get(HOST_ENV) or socket.gethostname(), "started": started,
            "duration_s": round(time.perf_counter() - t0, 3)}
