"""``cmx run experiment``: parse, plan every point, run them, write the results.

The automation (``automations/experiment/module.py``) only hands the input dict and the Context
to :func:`run`. Everything the experiment does not consume itself is a fixed input of every point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmx.errors import CmxError, EXIT_FAILED, UsageError
from cmx.flagspec import check_env_value
from experiments.plan import PlannedPoint, check_keys, is_current, merged_plan, plan_points, point_requests
from experiments import pareto
from experiments.results import row_for, summary_lines, write_tables, plot as plot_png
from experiments.runner import RunSettings, run_points
from experiments.space import Space, parse_space
from experiments.store import ExperimentDir, experiment_id

DEFAULT_MAX_POINTS = 1000
PARETO_COLUMNS = ["tokens_per_second", "tokens_per_second_per_user", "ttft_p90_ms", "tpot_p90_ms", "max_in_flight",
                  "pareto"]

# the experiment's own flags; every other flag is a fixed input of each point
OWN = {
    "action", "automation", "artifact", "artifacts", "tags", "explore", "env", "jobs", "dry_run", "fake_run",
    "max_points", "fail_fast", "plot", "pareto", "search", "search_steps", "search_points", "experiment_dir", "restart", "allow_parallel", "new", "skip_cache",
    "j", "json", "v", "verbose", "quiet", "out", "f", "executor", "slurm", "detach",
}


@dataclass(frozen=True)
class Options:
    jobs: int
    max_points: int
    fail_fast: bool
    dry_run: bool
    restart: bool
    allow_parallel: bool
    plot: tuple[tuple[str, str], ...]
    experiment_dir: Path | None
    passthrough: tuple[str, ...]


def _whole(i: dict[str, Any], key: str, default: int, minimum: int) -> int:
    raw = i.get(key, default)
    try:
        value = int(str(raw))
        if value < minimum:
            raise ValueError
    except (TypeError, ValueError):
        raise UsageError(f"--{key}={raw}: expected a whole number >= {minimum}") from None
    return value


def _plots(raw: Any) -> tuple[tuple[str, str], ...]:
    if not raw:
        return ()
    if raw is True:
        raise UsageError("--plot needs two columns: --plot=X,Y (several: --plot=X,Y;X2,Y2)")
    text = ",".join(raw) if isinstance(raw, list) else str(raw)
    out = []
    for pair in text.split(";"):
        parts = [p.strip() for p in pair.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UsageError(f"--plot={text}: give two columns, X,Y (several: X,Y;X2,Y2)")
        out.append((parts[0], parts[1]))
    return tuple(out)


def options_from(i: dict[str, Any]) -> Options:
    passthrough = tuple(f"--{k}" for k in ("new", "skip_cache") if i.get(k)) + (("-v",) if i.get("v") or i.get("verbose") else ())
    return Options(
        jobs=_whole(i, "jobs", 1, 1),
        max_points=_whole(i, "max_points", DEFAULT_MAX_POINTS, 1),
        fail_fast=bool(i.get("fail_fast")),
        dry_run=bool(i.get("dry_run") or i.get("fake_run")),
        restart=bool(i.get("restart")),
        allow_parallel=bool(i.get("allow_parallel")),
        plot=_plots(i.get("plot")),
        experiment_dir=Path(str(i["experiment_dir"])).expanduser() if i.get("experiment_dir") else None,
        passthrough=passthrough,
    )


def run(i: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from cmx import automation

    script = automation.load("script")
    tags = i.get("tags")
    if isinstance(tags, list):
        tags = ",".join(tags)
    if not tags:
        raise UsageError("which recipe? give --tags=... (e.g. cmx run experiment --tags=print,hello-world "
                         "--explore.name=ann,bob)")
    opts = options_from(i)
    from cmx_slurm.options import SlurmOptions, executor_of

    slurm = executor_of(i) == "slurm"
    if slurm:
        SlurmOptions.from_input(i)  # bad --slurm.* flags before anything is planned
        if i.get("search") is not None and i.get("detach"):
            raise UsageError("--search does not take --detach: each step's verdict chooses the next value, so "
                             "cmx waits for every step's job",
                             hint="without --detach, each step is a Slurm job and the points below the maximum one "
                                  "job array; an interrupted search resumes from the recorded steps")
    if i.get("search") is not None:
        return _run_search(i, ctx, script, str(tags), opts)
    space = parse_space(i.get("explore"))
    if space.size > opts.max_points:
        raise UsageError(f"the experiment has {space.size:,} points, more than --max_points={opts.max_points:,}",
                         hint=f"to run them all, add --max_points={space.size}")
    env = dict(i.get("env") or {})
    if not isinstance(i.get("env") or {}, dict):
        raise UsageError("--env needs a key: --env.NAME=VALUE")
    for key, value in env.items():
        check_env_value("env", key, value)
    fixed = {k: v for k, v in i.items() if k not in OWN}
    engine = ctx.engine
    check_keys(space, engine, str(tags))
    requests = point_requests(space, str(tags), env, fixed)
    planned = plan_points(requests, space, engine, ctx, script)
    spec = {"tags": sorted(t for t in str(tags).split(",") if t),
            "explore": [[d.key, list(d.values)] for d in space.dimensions],
            "env": env, "inputs": {k: v for k, v in fixed.items() if not isinstance(v, dict)}}
    folder = opts.experiment_dir or engine.home.cache_root / "experiments" / f"{planned[0].recipe}-{experiment_id(spec)}"
    exp = ExperimentDir(folder, engine.home.root)
    keys = [d.key for d in space.dimensions]
    if opts.dry_run:
        return _dry_run(planned, exp, keys, opts, ctx)
    exp.create()
    exp.write_spec({**spec, "points": len(planned)})
    jobs = opts.jobs
    exclusive = sorted({p.recipe for p in planned if p.exclusive})
    if jobs > 1 and exclusive and not opts.allow_parallel:
        ctx.echo(f"experiment: points run one at a time: {', '.join(exclusive)} is exclusive (it measures "
                 f"performance, and points side by side would share the CPU); --allow_parallel overrides")
        jobs = 1
    rows: dict[int, dict[str, Any]] = {}

    def on_done(rec: dict[str, Any]) -> None:  # keep the table current: a kill leaves it complete so far
        rows[rec["index"]] = row_for(rec, keys)
        write_tables([rows[k] for k in sorted(rows)], exp.root)

    settings = RunSettings(jobs, opts.fail_fast, opts.restart, opts.passthrough)
    if slurm:  # the points still to run as one Slurm job array (cmx_slurm/, docs/slurm.md)
        from cmx_slurm.array import run_points as run_on_slurm

        records = run_on_slurm(planned, exp, settings, on_done, ctx.echo, i)
    else:
        records = run_points(planned, exp, settings, on_done, ctx.echo)
    table_rows = [row_for(r, keys) for r in records]
    pareto_out: dict[str, Any] = {}
    if i.get("pareto"):
        table_rows = pareto.annotate(table_rows)
        front = [r for r in table_rows if r["pareto"]]
        write_tables(front, exp.root, name="pareto")
    tables = write_tables(table_rows, exp.root)  # before any plot: a plot that fails loses no table
    if i.get("pareto"):
        pareto_out = {"points": [r["point"] for r in front], "csv": str(exp.root / "pareto.csv"),
                      "png": pareto.plot(table_rows, exp.root / "pareto.png") if front else None}
    plots = []
    for x, y in opts.plot:
        cols = set().union(*(r.keys() for r in table_rows))
        missing = [c for c in (x, y) if c not in cols]
        if missing:
            ctx.echo(f"experiment: no plot of {y} vs {x}: no column {', '.join(missing)} "
                     f"(columns: {', '.join(sorted(cols))})")
            continue
        plots.append(plot_png(table_rows, x, y, exp.root / f"plot-{_safe(x)}-{_safe(y)}.png", keys))
    ctx.say(f"experiment {exp.root}")
    for line in summary_lines(table_rows, keys, PARETO_COLUMNS if pareto_out else None):
        ctx.say(line)
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "failed", "not-run")}
    out = {
        "experiment": str(exp.root),
        "recipe": planned[0].recipe,
        "explore": {d.key: list(d.values) for d in space.dimensions},
        "points": [_public(r) for r in records],
        "summary": {"points": len(records), **counts, "skipped": sum(bool(r.get("cached")) for r in records)},
        "tables": tables,
        "plots": plots,
    }
    if pareto_out:
        out["pareto"] = pareto_out
    if counts["failed"] or counts["not-run"]:
        err = CmxError(f"experiment: {counts['failed']} of {len(records)} points failed"
                       + (f", {counts['not-run']} not run (--fail_fast)" if counts["not-run"] else "")
                       + f"; see {tables['csv']}")
        err.exit_code = EXIT_FAILED
        err.json_extra = out  # type: ignore[attr-defined]
        raise err
    return out


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    keep = ("index", "point_id", "inputs", "request", "status", "cached", "recipe_cached", "reason", "duration_s",
            "cache_path", "key", "result_json", "new_env", "log", "slurm_job_id", "previous_status")
    return {k: rec.get(k) for k in keep if k in rec}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _dry_run(planned: list[PlannedPoint], exp: ExperimentDir, keys: list[str], opts: Options,
             ctx: Any) -> dict[str, Any]:
    merged = merged_plan(planned)
    points = []
    for p in planned:
        done = None if opts.restart else exp.finished(p.point_id)
        done = done if done is not None and is_current(p, done) else None
        prev = None if done is not None else exp.record(p.point_id)
        points.append({"index": p.request.point.index, "point_id": p.point_id, "inputs": p.request.point.as_dict(),
                       "request": p.request.identity(), "status": "done" if done else "planned",
                       "cached": done is not None, "root_key": p.root_key,
                       "previous_status": prev.get("status") if prev is not None else None})
    if not ctx.json:
        header = ("recipe", "variations", "key", "status", "points", "why")
        rows = [(m["recipe"], ",".join(f"_{v}" for v in m["variations"]), (m["key"] or "pending")[:12],
                 m["status"], str(m["points"]), m["why"]) for m in merged]
        widths = [max(len(r[c]) for r in rows + [header]) for c in range(len(header))]
        ctx.say(f"experiment plan: {len(planned)} points, {len(merged)} distinct nodes (nothing executed)")
        for r in [header] + rows:
            ctx.say("  " + "  ".join(r[c].ljust(widths[c]) for c in range(len(header))).rstrip())
        ctx.say("points:")
        for pt in points:
            last = f" ({pt['previous_status']} last time)" if pt["previous_status"] else ""
            ctx.say(f"  {pt['index']:>4}  {pt['status']:<8} " + " ".join(f"{k}={v}" for k, v in pt["inputs"].items())
                    + last)
    return {"dry_run": True, "experiment": str(exp.root), "points": points, "plan": merged}


def _run_search(i: dict[str, Any], ctx: Any, script: Any, tags: str, opts: Options) -> dict[str, Any]:
    """--search.KEY=LO:HI: find the largest VALID value of KEY, then --search_points points up to it."""
    from cmx_slurm.options import executor_of
    from experiments import search
    from experiments.plan import apply
    from experiments.space import Dimension, Point

    if i.get("explore"):
        raise UsageError("--search and --explore do not mix: a search decides its points as it goes")
    spec = search.parse_search(i.get("search"), i.get("search_steps", 6), i.get("search_points", 4))
    env = dict(i.get("env") or {})
    fixed = {k: v for k, v in i.items() if k not in OWN}
    engine = ctx.engine
    dim_space = Space((Dimension(spec.key, (search.fmt(spec.low),)),))
    check_keys(dim_space, engine, tags)
    planned_by_value: dict[str, PlannedPoint] = {}

    def planned_for(value: float) -> PlannedPoint:
        text = search.fmt(value)
        if text not in planned_by_value:
            point = Point(len(planned_by_value), ((spec.key, text),))
            req = apply(point, dim_space.dimensions, tags, env, fixed)
            planned_by_value[text] = plan_points([req], Space((Dimension(spec.key, (text,)),)), engine, ctx, script)[0]
        return planned_by_value[text]

    first = planned_for(spec.low)  # plans (and so checks) the request before anything runs
    spec_json = {"tags": sorted(t for t in tags.split(",") if t), "search": [spec.key, spec.low, spec.high],
                 "env": env, "inputs": {k: v for k, v in fixed.items() if not isinstance(v, dict)}}
    folder = opts.experiment_dir or engine.home.cache_root / "experiments" / f"{first.recipe}-{experiment_id(spec_json)}"
    exp = ExperimentDir(folder, engine.home.root)
    if opts.dry_run:
        return {**_dry_run([first], exp, [spec.key], opts, ctx), "search": {"key": spec.key, "first_probe": spec.low}}
    exp.create()
    exp.write_spec(spec_json)
    records: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    settings = RunSettings(1, False, opts.restart, opts.passthrough)

    if executor_of(i) == "slurm":  # each step a Slurm job, the points below the maximum one job array
        from cmx_slurm import array

        def runner(planned: list[PlannedPoint]) -> list[dict[str, Any]]:
            return array.run_points(planned, exp, settings, lambda r: None, ctx.echo, i)
    else:
        def runner(planned: list[PlannedPoint]) -> list[dict[str, Any]]:
            return run_points(planned, exp, settings, lambda r: None, ctx.echo)

    def run_values(values: list[float], role: str) -> list[dict[str, Any]]:
        """Run the values not run yet, together (one job array with Slurm); their rows, in order."""
        texts = list(dict.fromkeys(search.fmt(v) for v in values))
        todo = [t for t in texts if t not in records]
        for text, rec in zip(todo, runner([planned_for(float(t)) for t in todo]) if todo else []):
            records[text] = rec
            rows[text] = row_for(rec, [spec.key])
            rows[text]["role"] = role
        if todo:
            write_tables(list(rows.values()), exp.root)
        return [rows[t] for t in texts]

    def run_value(value: float, role: str) -> dict[str, Any]:
        return run_values([value], role)[0]

    def probe(value: float) -> bool:
        row = run_value(value, "probe")
        ok = row.get("status") == "ok" and row.get("valid") is True
        ctx.echo(f"search: {spec.key}={search.fmt(value)} {'VALID' if ok else 'not valid'}")
        return ok

    maximum = search.find_max(spec, probe)
    curve: list[float] = []
    if maximum is not None:
        curve = search.below(maximum, spec.points)
        for row in run_values(curve, "point"):
            if row.get("role") == "probe":
                row["role"] = "probe+point"
    table_rows = sorted(rows.values(), key=lambda r: float(r[spec.key]))
    tables = write_tables(table_rows, exp.root)
    plots = [plot_png(table_rows, x, y, exp.root / f"plot-{_safe(x)}-{_safe(y)}.png", [])
             for x, y in opts.plot if all(c in set().union(*(r.keys() for r in table_rows)) for c in (x, y))]
    ctx.say(f"experiment {exp.root}")
    ctx.say(f"largest VALID {spec.key}: {search.fmt(maximum) if maximum is not None else 'none'} "
            f"(searched {search.fmt(spec.low)}..{search.fmt(spec.high)})")
    for line in summary_lines(table_rows, [spec.key, "role"], ["valid", "samples_per_second", "tokens_per_second",
                                                              "ttft_p99_ms", "tpot_p99_ms"]):
        ctx.say(line)
    out = {
        "experiment": str(exp.root),
        "recipe": first.recipe,
        "points": [_public(records[search.fmt(float(r[spec.key]))]) | {"role": r["role"]} for r in table_rows],
        "search": {"key": spec.key, "max": maximum, "points": [search.fmt(v) for v in curve]},
        "tables": tables,
        "plots": plots,
    }
    if maximum is None:
        err = CmxError(f"search: {spec.key}={search.fmt(spec.low)} is already not VALID; see {tables['csv']}")
        err.exit_code = EXIT_FAILED
        err.json_extra = out  # type: ignore[attr-defined]
        raise err
    return out
