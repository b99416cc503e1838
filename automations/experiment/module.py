"""The `experiment` automation: ``cmx run experiment --tags=RECIPE --explore.KEY=VALUES ...``.

A thin layer over the ``experiments`` package (docs/experiments.md): it runs one recipe at every
point of the Cartesian product of the explored values, resumably, and writes one table of results.
"""

from __future__ import annotations

from typing import Any

from cmx.automation import Context


def run(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Run a recipe over the Cartesian product of --explore.KEY=VALUES (lists, a:b:step, a:b:*f, 1,2,4,...,64).

    --explore.variation=_a,_b  --explore.env.NAME=...  --explore.INPUT=...   --jobs N  --dry-run
    --max_points=N (default 1000)  --fail_fast  --plot=X,Y  --restart  --allow_parallel  --experiment_dir=DIR
    Every other flag is a fixed input of each point. See docs/experiments.md."""
    from experiments.experiment import run as run_experiment

    return run_experiment(i, ctx)


ACTIONS = {"run": run}
