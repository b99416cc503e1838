"""The `experiment` automation: ``cmx run experiment --tags=RECIPE --explore.KEY=VALUES ...``.

A thin layer over the ``experiments`` package (docs/experiments.md): it runs one recipe at every
point of the Cartesian product of the explored values, resumably, and writes one table of results.
"""

from __future__ import annotations

from typing import Any

from cmx.automation import Context, Flag, declare
from cmx_slurm.options import FLAGS as SLURM_FLAGS  # --executor=slurm: the points as a job array


@declare(
    "Run one recipe at every point of the Cartesian product of explored inputs, variations and env; resumable.",
    Flag("tags", "tags", "the recipe to run at every point", example="--tags=print,hello-world"),
    Flag("explore", "map", "the values of one dimension: a list a,b,c, a range a:b:step, a:b:*f, or 1,2,4,...,64 "
         "(--explore.variation=_a,_b  --explore.env.NAME=...  --explore.INPUT=...)", example="--explore.name=ann,bob"),
    Flag("env", "env", "env for every point", example="--env.CMX_HELLO_GREETING=Hi"),
    Flag("jobs", "int", "run up to N points at once (exclusive recipes still run alone)", example="--jobs 2",
         takes_next=True),
    Flag("dry-run", "bool", "plan every point and print the table; run nothing", aliases=("fake_run",), short="n"),
    Flag("max_points", "int", "refuse an experiment with more points (default 1000)", example="--max_points=5000"),
    Flag("fail_fast", "bool", "stop at the first failed point"),
    Flag("plot", "text", "PNG plots of column Y against X (several: X,Y;X2,Y2)", example="--plot=name,seconds"),
    Flag("pareto", "bool", "the throughput/interactivity Pareto front of a FlexBench sweep (pareto.csv, pareto.png)"),
    Flag("search", "map", "find the largest VALID value of one input (doubling, then bisection), then points below it",
         example="--search.target_qps=1:1000"),
    Flag("search_steps", "int", "bisection steps of --search (default 6)", example="--search_steps=4"),
    Flag("search_points", "int", "points run up to the maximum --search found (default 4)", example="--search_points=6"),
    Flag("experiment_dir", "path", "where the results go (default: cache/experiments/RECIPE-ID)"),
    Flag("restart", "bool", "run every point again instead of resuming"),
    Flag("allow_parallel", "bool", "let --jobs run exclusive recipes side by side"),
    Flag("new", "bool", "rebuild each point's recipe even if cached"),
    Flag("skip_cache", "bool", "run every point without the cache"),
    *SLURM_FLAGS,
    args="", recipe_inputs=True,
    example="cmx run experiment --tags=print,hello-world --explore.name=ann,bob --explore.variation=_text,_json",
    details="Every other flag is a fixed input of each point. See docs/experiments.md (cmx help experiments).",
)
def run(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Run a recipe over the Cartesian product of --explore.KEY=VALUES (lists, a:b:step, a:b:*f, 1,2,4,...,64).

    --explore.variation=_a,_b  --explore.env.NAME=...  --explore.INPUT=...   --jobs N  --dry-run
    --max_points=N (default 1000)  --fail_fast  --plot=X,Y  --restart  --allow_parallel  --experiment_dir=DIR
    Every other flag is a fixed input of each point. See docs/experiments.md."""
    from cmx.errors import UnknownInputError
    from cmx.flagspec import spec_of, unknown_input
    from experiments.experiment import run as run_experiment

    try:
        return run_experiment(i, ctx)
    except UnknownInputError as exc:  # a fixed --flag the recipe lacks: a CM engine flag, or near one of ours?
        spec = spec_of(run)
        if exc.source != "the command line" or spec is None:
            raise
        error = unknown_input(exc, spec.all_flags())
        if error is exc:
            raise
        raise error from exc


ACTIONS = {"run": run}
