"""Debug trace lines: with ``CMX_TRACE=1``, each stage says on stderr that it was entered.

``cmx: trace: plan ...`` when a planner starts (selection, variations, versions, env), ``cmx: trace:
index ...`` when the recipe index is loaded (metas read), ``cmx: trace: execute ...`` when a plan
runs. What a stage did is then visible from outside the process: a Slurm job runs the plan it was
shipped and its log has no ``plan`` line (docs/slurm.md). Standard library only, one environment
lookup per stage entered.
"""

from __future__ import annotations

import os
import sys

TRACE_ENV = "CMX_TRACE"


def trace(stage: str, what: str) -> None:
    if os.environ.get(TRACE_ENV, "") not in ("", "0"):
        print(f"cmx: trace: {stage} {what}", file=sys.stderr, flush=True)
