"""The Open MLPerf Dataset: import time, query time side by side with pandas, peak memory.

1. **Import a round.** A synthetic results tree in the round layout, built from the real
   v4.1 logs in ``../shared`` (each of the 9 sample results copied under ``--copies`` varied
   system names: 5,004 results by default, about the size of round v5.0), imported by
   ``openmlperf.importers.mlperf.import_tree`` in a fresh process: wall time, rows per second
   and the process's peak RSS.
2. **Peak memory against rounds already stored.** The same tree imported again as further
   rounds (``--round`` v9.1, v9.2, ... as separate sources) into the same dataset: the peak RSS
   of each import, with 0, 1, 2, ... rounds stored.
3. **A filtered group-by over 100,000 rows** (group by accelerator and benchmark, Offline and
   valid only): DuckDB over the Parquet files (warm: an open connection; and through
   ``openmlperf.query``, which opens one per call) and pandas on the same rows already in a
   DataFrame; the ratio of medians. Plus ``cmx run script --tags=query,dataset`` end to end.

Nothing passes or fails on time; goals from the issue are printed as text.
Run: ``python benchmarks/dataset_bench.py [--runs N] [--copies N] [--rows N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Stats, clean_env, print_result  # noqa: E402

SHARED_SAMPLES = ROOT / ".." / "shared" / "data" / "mlperf-results" / "v4.1-log-samples"
QUERY = ('select "system.accelerator.name" as acc, "model.mlperf_name" as bench, count(*) as n, '
         'avg("metrics.result") as mean_result, max("metrics.result_per_accelerator") as best_per_acc '
         "from results where \"submission.scenario\" = 'Offline' and \"metrics.valid\" group by 1, 2 order by 1, 2")
_ACCS = [f"Accelerator-{i:02d}" for i in range(24)]


def _samples() -> Path:
    for cand in (SHARED_SAMPLES, *_worktree_shared()):
        if cand.is_dir():
            return cand.resolve()
    sys.exit(f"no shared logs at {SHARED_SAMPLES} (the project's ../shared next to the checkout)")


def _worktree_shared() -> list[Path]:
    dotgit = ROOT / ".git"
    if dotgit.is_file() and dotgit.read_text().startswith("gitdir:"):
        main = Path(dotgit.read_text().split(":", 1)[1].strip()).resolve().parents[2]
        return [main / ".." / "shared" / "data" / "mlperf-results" / "v4.1-log-samples"]
    return []


_IMPORT = """
import json, resource, sys, time
t0 = time.perf_counter()
from openmlperf.importers import mlperf
rep = mlperf.import_tree(sys.argv[1], sys.argv[2], round_=sys.argv[3] or None, source_url=sys.argv[4] or None)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": rep.rows_stored, "skipped": len(rep.skipped),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _import(tree: Path, ds: Path, round_: str = "", url: str = "") -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _IMPORT, str(tree), str(ds), round_, url], capture_output=True,
                         text=True, env=clean_env(PYTHONPATH=str(ROOT)), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _make_rows(ds_src: Path, ds_out: Path, rows: int) -> int:
    """``rows`` rows shaped like the imported ones, spread over 24 accelerators, as 20 source files."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import openmlperf

    base = openmlperf.query("select * from results", ds_src)
    per_file = rows // 20
    (ds_out / "sources").mkdir(parents=True, exist_ok=True)
    written = 0
    for f in range(20):
        reps = -(-per_file // base.num_rows)
        t = pa.concat_tables([base] * reps).slice(0, per_file)
        idx = pa.array([f * per_file + i for i in range(t.num_rows)])
        t = t.set_column(t.schema.get_field_index("result.id"), "result.id", pc.cast(idx, pa.string()))
        accs = pa.array([_ACCS[(f * 7 + i) % len(_ACCS)] for i in range(t.num_rows)])
        t = t.set_column(t.schema.get_field_index("system.accelerator.name"), "system.accelerator.name", accs)
        meta = dict(pq.read_schema(next((ds_src / "sources").glob("*.parquet"))).metadata or {})
        pq.write_table(t.replace_schema_metadata(meta), ds_out / "sources" / f"mlperf-round-bench{f:02d}.parquet",
                       compression="zstd")
        written += t.num_rows
    return written


def _time(fn, runs: int, label: str) -> Stats:
    fn()  # warm
    s = Stats(label)
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        s.samples.append(time.perf_counter() - t0)
    return s


def measure(runs: int = 20, copies: int = 556, rows: int = 100_000, rounds: int = 4) -> dict[str, Any]:
    import pandas as pd

    import openmlperf
    from openmlperf.sql import run as run_sql
    from openmlperf.synthetic import build_round

    samples = _samples()
    with tempfile.TemporaryDirectory(prefix="cmx-dataset-bench-") as tmp:
        base = Path(tmp)
        tree = base / "inference_results_v5.0"
        t0 = time.perf_counter()
        n_results = build_round(samples, tree, copies=copies)
        build_s = time.perf_counter() - t0
        ds = base / "ds"
        first = _import(tree, ds)
        memory = [{"rounds_stored": 0, **first}]
        for k in range(1, rounds):
            memory.append({"rounds_stored": k, **_import(tree, ds, f"v9.{k}", f"synthetic://round-{k}")})
        big = base / "ds100k"
        n_rows = _make_rows(ds, big, rows)
        con = openmlperf.connect(big)
        duck = _time(lambda: run_sql(con, QUERY).num_rows, runs, "duckdb, open connection")
        duck_api = _time(lambda: openmlperf.query(QUERY, big).num_rows, runs, "openmlperf.query (connect per call)")
        t0 = time.perf_counter()
        df = pd.concat([pd.read_parquet(p) for p in sorted((big / "sources").glob("*.parquet"))], ignore_index=True)
        pandas_load_s = time.perf_counter() - t0

        def by_pandas() -> int:
            sel = df[(df["submission.scenario"] == "Offline") & (df["metrics.valid"] == True)]  # noqa: E712
            g = sel.groupby(["system.accelerator.name", "model.mlperf_name"]).agg(
                n=("metrics.result", "size"), mean_result=("metrics.result", "mean"),
                best_per_acc=("metrics.result_per_accelerator", "max"))
            return len(g)

        pandas = _time(by_pandas, runs, "pandas, DataFrame in memory")
        same = run_sql(con, QUERY).num_rows == by_pandas()
        con.close()
        cli = Stats("cmx run script --tags=query,dataset (end to end)")
        cmx = ROOT / ".venv" / "bin" / "cmx"
        for _ in range(max(3, runs // 5)):
            t0 = time.perf_counter()
            subprocess.run([str(cmx), "run", "script", "--tags=query,dataset", f"--sql={QUERY}", f"--dataset_dir={big}",
                            "-j"], capture_output=True, check=True, env=clean_env(CMX_HOME=str(base / "home")))
            cli.samples.append(time.perf_counter() - t0)
    return {
        "results_in_round": n_results, "build_tree_s": round(build_s, 2),
        "import": first, "import_rows_per_s": round(first["rows"] / first["seconds"], 1),
        "memory_by_rounds_stored": memory,
        "query_rows": n_rows, "query": QUERY,
        "series": {"duckdb": duck.to_json(), "duckdb_api": duck_api.to_json(), "pandas": pandas.to_json(),
                   "cli": cli.to_json()},
        "pandas_load_s": round(pandas_load_s, 3), "same_groups": same,
        "ratio_duckdb_over_pandas": round(duck.median / pandas.median, 3),
    }


def report_lines(r: dict[str, Any]) -> list[str]:
    s = r["series"]
    imp = r["import"]
    lines = [
        f"dataset: import of a synthetic round of {r['results_in_round']} results (tree built in {r['build_tree_s']} s)",
        f"  import: {imp['seconds']:.2f} s, {r['import_rows_per_s']:.0f} rows/s, {imp['rows']} rows, "
        f"{imp['skipped']} skipped, peak RSS {imp['peak_rss_mb']:.0f} MiB   (goal: <= 60 s for a v5.0-sized round)",
        "  peak RSS of an import by rounds already stored: "
        + ", ".join(f"{m['rounds_stored']}: {m['peak_rss_mb']:.0f} MiB ({m['seconds']:.1f} s)"
                    for m in r["memory_by_rounds_stored"]),
        f"  group-by over {r['query_rows']:,} rows (Offline, valid; by accelerator and benchmark):",
    ]
    for key in ("duckdb", "duckdb_api", "pandas", "cli"):
        st = s[key]
        lines.append(f"    {st['label']}: median {st['median_ms']:.1f} ms (min {st['min_ms']:.1f}, "
                     f"max {st['max_ms']:.1f}; n={st['n']})")
    lines.append(f"    duckdb / pandas: {r['ratio_duckdb_over_pandas']:.2f}x; pandas' load of the files "
                 f"{r['pandas_load_s']:.2f} s; same groups: {r['same_groups']}   (goal: <= 100 ms warm)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--copies", type=int, default=556, help="copies of each of the 9 sample results (556: 5,004)")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=4, help="imports for the memory series")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = measure(runs=a.runs, copies=a.copies, rows=a.rows, rounds=a.rounds)
    print_result(r, report_lines(r), a.json)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
