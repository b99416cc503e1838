"""Run the cmx benchmarks (``make bench``) and print a summary table.

* ``cached_run.py``: a fully cached ``cmx run script --tags=detect,os -j`` vs ``cm``;
* ``plan_10k.py``: a warm dry-run plan of ~10,000 nodes (vs ``snakemake -n``);
* ``plan_layered.py``: the same on a random layered DAG (50 layers x 200, 30,000 edges);
* ``find_1k.py``: ``cmx find`` in a 1,000-recipe repository (vs ``cm find``);
* ``slurm_bench.py``: ``--executor=slurm`` per-job overhead vs bare ``sbatch``, and a 1,000-point
  experiment planned and submitted as one job array (skipped, with the reason, without Slurm);
* ``dataset_bench.py``: importing a synthetic MLPerf round, a group-by over 100,000 rows
  (DuckDB vs pandas), peak memory of an import;
* ``compat_bench.py``: a cached cm4mlops recipe through cmx vs ``cm run`` (cmind), and a cold index
  of mlperf-automations vs ``mlc find`` (mlcflow); a side without its repository is not measured;
* ``client_bench.py``: FlexBench's ``_openai`` client vs ``aiperf`` and ``guidellm`` against a loopback mock SSE server
  (requests/s, CPU per request at concurrency 1/16/64/256; TTFT/TPOT vs the server's timestamps);
  a peer is skipped, with the reason, if it cannot be installed.
* ``flexboard_render_bench.py``: FlexBoard's explore page, first render in Chromium on 100,000
  rows vs the 847 published rows (skipped, with the reason, without chromium);
* ``flexboard_bench.py``: training FlexBoard's predictor on the full dataset and predicting 1,000
  configurations, each side by side with the FlexBoard-style baseline (``--evaluate`` there also
  runs the three evaluation splits).

Each prints its own report (to stderr with ``--json``), then this prints a table
of medians, spreads and side-by-side ratios. Targets from the issue are shown
as text; nothing here passes or fails on time.

Run: ``python benchmarks/run_all.py [--runs N] [--json] [--no-cm] [--no-snakemake] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cached_run  # noqa: E402
import client_bench  # noqa: E402
import compat_bench  # noqa: E402
import dataset_bench  # noqa: E402
import find_1k  # noqa: E402
import flexboard_bench  # noqa: E402
import flexboard_render_bench  # noqa: E402
import plan_10k  # noqa: E402
import plan_layered  # noqa: E402
import slurm_bench  # noqa: E402
from _common import machine  # noqa: E402

NAMES = ("cached_run", "plan_10k", "plan_layered", "find_1k", "dataset", "slurm", "client", "flexboard_render",
         "compat", "flexboard")


def _spread(series: dict[str, Any]) -> str:
    return f"{series['min_ms']:.0f}-{series['max_ms']:.0f}"


def _fmt(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def summary_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = [["benchmark", "cmx median", "min-max (ms)", "n", "side by side (median)", "ratio", "target (issue)"]]
    if "cached_run" in results:
        r = results["cached_run"]
        s = r["series"]
        cmx, eng, floor = s[cached_run.CMX], s[cached_run.ENGINE], s[cached_run.FLOOR]
        cm = s.get(cached_run.CM)
        rows.append(["cached run detect,os", _fmt(cmx["median_ms"]), _spread(cmx), str(cmx["n"]),
                     f"cm {_fmt(cm['median_ms'])}" if cm else r["cm"],
                     f"{r['ratio_cmx_over_cm']:.2f}x cm" if cm else "-", "<= 70 ms, <= 0.4x cm"])
        rows.append(["  same, CMX_NO_MEMO=1", _fmt(eng["median_ms"]), _spread(eng), str(eng["n"]),
                     f"cm {_fmt(cm['median_ms'])}" if cm else "-",
                     f"{r['ratio_engine_over_cm']:.2f}x cm" if cm else "-", "(full engine)"])
        rows.append(["  python -c pass (floor)", _fmt(floor["median_ms"]), _spread(floor), str(floor["n"]),
                     "", "", ""])
    if "plan_10k" in results:
        r = results["plan_10k"]
        s = r["series"]
        p, f = s[plan_10k.PLAN], s[plan_10k.FIND]
        sm = s.get(plan_10k.SNAKE)
        rows.append([f"dry-run plan, {r['plan_nodes']} nodes", _fmt(p["median_ms"]), _spread(p), str(p["n"]),
                     f"snakemake -n {_fmt(sm['median_ms'])}" if sm else "snakemake: see report",
                     f"{r['ratio_cmx_over_snakemake']:.2f}x snakemake" if sm else "-", "<= 1 s"])
        rows.append(["  find on that index", _fmt(f["median_ms"]), _spread(f), str(f["n"]), "", "", ""])
        rows.append(["  cold index build, 10k", _fmt(r["cold_index_ms"]), "one run", "1", "", "", ""])
    if "plan_layered" in results:
        r = results["plan_layered"]
        s = r["series"]
        p = s[plan_10k.PLAN]
        sm = s.get(plan_10k.SNAKE)
        rows.append([f"dry-run plan, layered DAG, {r['plan_nodes']} nodes", _fmt(p["median_ms"]), _spread(p),
                     str(p["n"]), f"snakemake -n {_fmt(sm['median_ms'])}" if sm else "snakemake: see report",
                     f"{r['ratio_cmx_over_snakemake']:.2f}x snakemake" if sm else "-", "<= 1 s"])
    if "find_1k" in results:
        r = results["find_1k"]
        s = r["series"]
        f = s[find_1k.FIND]
        cm = s.get(find_1k.CM)
        rows.append(["find, 1,000 recipes", _fmt(f["median_ms"]), _spread(f), str(f["n"]),
                     f"cm find {_fmt(cm['median_ms'])}" if cm else r["cm"],
                     f"{r['ratio_cmx_over_cm']:.2f}x cm" if cm else "-", "<= 50 ms"])
        rows.append(["  cold index build, 1k", _fmt(r["cold_index_ms"]), "one run", "1", "", "", ""])
    if "dataset" in results:
        r = results["dataset"]
        s = r["series"]
        d, p = s["duckdb"], s["pandas"]
        imp = r["import"]
        rows.append([f"import round, {r['results_in_round']} results", _fmt(imp["seconds"] * 1000), "one run", "1",
                     f"{r['import_rows_per_s']:.0f} rows/s", "", "<= 60 s"])
        rows.append([f"group-by, {r['query_rows']:,} rows", _fmt(d["median_ms"]), _spread(d), str(d["n"]),
                     f"pandas {_fmt(p['median_ms'])}", f"{r['ratio_duckdb_over_pandas']:.2f}x pandas", "<= 100 ms warm"])
        rows.append(["  import peak RSS by rounds stored",
                     " / ".join(f"{m['peak_rss_mb']:.0f}" for m in r["memory_by_rounds_stored"]) + " MiB",
                     "", "", "", "", "flat"])
    if "slurm" in results:
        r = results["slurm"]
        if "skipped" in r:
            rows.append(["slurm executor", "skipped", "", "", r["skipped"], "", ""])
        else:
            s = r["series"]
            c, b = s[slurm_bench.CMX], s[slurm_bench.BARE_CMX]
            rows.append(["slurm job, print,hello-world", _fmt(c["median_ms"]), _spread(c), str(c["n"]),
                         f"bare sbatch of the run {_fmt(b['median_ms'])}", f"{r['ratio_cmx_over_bare_cmx']:.2f}x",
                         "<= 1.5x"])
            rows.append(["  1,000 points: plan + array submit", _fmt(r["array_1000_s"] * 1000), "one run", "1", "", "",
                         "<= 5 s"])
    if "client" in results:
        r = results["client"]
        for pt in r["points"]:
            o, peers = pt["ours"], pt.get("peers") or {}
            best = min(peers.items(), key=lambda kv: kv[1]["cpu_ms_per_req"]) if peers else None  # the best peer
            rows.append([f"_openai client, concurrency {pt['concurrency']}", f"{o['cpu_ms_per_req']:.2f} ms CPU/req",
                         f"{o['rps']:.0f} req/s", str(pt["requests"][1]),
                         f"{best[0]} {best[1]['cpu_ms_per_req']:.2f} ms CPU/req" if best
                         else f"peers skipped: {r['peer_skipped']}",
                         f"{o['cpu_ms_per_req'] / best[1]['cpu_ms_per_req']:.2f}x {best[0]}"
                         if best and best[1]["cpu_ms_per_req"] > 0 else "-", "<= best peer"])
        t = r["latency"]["ttft_diff_ms"]
        rows.append(["  TTFT ours - server (c=1)", f"{t['median']:.2f} ms", f"p90 {t['p90']:.2f}", "", "", "",
                     "within 1 ms"])
    if "flexboard_render" in results:
        r = results["flexboard_render"]
        if "skipped" in r:
            rows.append(["flexboard explore, first render", "skipped", r["skipped"], "", "", "", "<= 2 s"])
        else:
            big, small = r["large"], r["published"]
            w, ws = big["warm"], small["warm"]
            rows.append([f"flexboard explore, {big['rows']:,} rows", _fmt(w["median_ms"]), _spread(w), str(w["n"]),
                         f"847 rows {_fmt(ws['median_ms'])}", f"{r['ratio_large_over_published_warm']:.2f}x",
                         "<= 2 s"])
            rows.append(["  first visit after start", _fmt(big["cold_s"] * 1000), "one run", "1",
                         f"847 rows {_fmt(small['cold_s'] * 1000)}", "", ""])
    if "compat" in results:
        c, k = results["compat"]["cached"], results["compat"]["cold"]
        if c["measured"]:
            x, cm = c["stats"][compat_bench.CMX_CACHED], c["stats"][compat_bench.CM_CACHED]
            rows.append(["cached cm4mlops get,python3", _fmt(x["median_ms"]), _spread(x), str(x["n"]),
                         f"cm {_fmt(cm['median_ms'])}", f"{c['ratio_cmx_over_cm']:.2f}x cm", "<= 0.4x cm"])
        if k["measured"]:
            x = k["stats"][compat_bench.CMX_COLD]
            mlc = k["stats"].get(compat_bench.MLC_FIND)
            rows.append(["cold index mlperf-automations", _fmt(x["median_ms"]), _spread(x), str(x["n"]),
                         f"mlc find {_fmt(mlc['median_ms'])}" if mlc else k["mlc"],
                         f"{k['ratio_cmx_over_mlc']:.2f}x mlc" if mlc else "-", "<= 5 s"])
    if "flexboard" in results:
        r = results["flexboard"]
        tr, pr = r["train"], r["predict"]
        o, b = tr[flexboard_bench.OURS], tr[flexboard_bench.BASE]
        rows.append([f"FlexBoard predictor: train, {r['rows']} rows", _fmt(o["median_ms"]), _spread(o), str(o["n"]),
                     f"baseline {_fmt(b['median_ms'])}", f"{r['ratio_train_ours_over_baseline']:.2f}x baseline",
                     "<= 30 s"])
        o, b = pr[flexboard_bench.OURS], pr[flexboard_bench.BASE]
        rows.append([f"  predict {r['configurations']} configurations", _fmt(o["median_ms"]), _spread(o), str(o["n"]),
                     f"baseline {_fmt(b['median_ms'])}", f"{r['ratio_predict_ours_over_baseline']:.2f}x baseline",
                     "<= 1 s"])
    return rows


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=None,
                    help="rounds for every benchmark (each keeps its minimum: 10, 5, 10); default: each one's own")
    ap.add_argument("--json", action="store_true", help="print all results as one JSON object")
    ap.add_argument("--no-cm", action="store_true", help="skip the CM comparisons")
    ap.add_argument("--no-snakemake", action="store_true", help="skip the Snakemake comparison")
    ap.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    a = ap.parse_args(argv)
    out = sys.stderr if a.json else sys.stdout
    results: dict[str, dict[str, Any]] = {}
    kw = {} if a.runs is None else {"runs": a.runs}
    if "cached_run" in a.only:
        results["cached_run"] = cached_run.measure(**kw, no_cm=a.no_cm)
        print("\n".join(cached_run.report_lines(results["cached_run"])) + "\n", file=out, flush=True)
    if "plan_10k" in a.only:
        results["plan_10k"] = plan_10k.measure(**kw, snakemake=not a.no_snakemake)
        print("\n".join(plan_10k.report_lines(results["plan_10k"])) + "\n", file=out, flush=True)
    if "plan_layered" in a.only:
        results["plan_layered"] = plan_10k.measure(**kw, snakemake=not a.no_snakemake, shape=plan_layered.LAYERED)
        print("\n".join(plan_10k.report_lines(results["plan_layered"])) + "\n", file=out, flush=True)
    if "find_1k" in a.only:
        results["find_1k"] = find_1k.measure(**kw, no_cm=a.no_cm)
        print("\n".join(find_1k.report_lines(results["find_1k"])) + "\n", file=out, flush=True)
    if "dataset" in a.only:
        results["dataset"] = dataset_bench.measure(**kw)
        print("\n".join(dataset_bench.report_lines(results["dataset"])) + "\n", file=out, flush=True)
    if "slurm" in a.only:
        results["slurm"] = slurm_bench.measure(**kw)
        print("\n".join(slurm_bench.report_lines(results["slurm"])) + "\n", file=out, flush=True)
    if "client" in a.only:
        results["client"] = client_bench.measure()
        print("\n".join(client_bench.report_lines(results["client"])) + "\n", file=out, flush=True)
    if "flexboard_render" in a.only:
        results["flexboard_render"] = flexboard_render_bench.measure(**kw)
        print("\n".join(flexboard_render_bench.report_lines(results["flexboard_render"])) + "\n", file=out, flush=True)
    if "compat" in a.only and not a.no_cm:
        results["compat"] = compat_bench.measure(**kw)
        print("\n".join(compat_bench.report_lines(results["compat"])) + "\n", file=out, flush=True)
    if "flexboard" in a.only:
        results["flexboard"] = flexboard_bench.measure(**kw)
        print("\n".join(flexboard_bench.report_lines(results["flexboard"])) + "\n", file=out, flush=True)
    m = machine()
    head = (f"summary  [{m['cpus']} cpus, {m['python']}, {m['platform']}, cmx {m['cmx_commit']}, "
            f"load avg (1 min) {m['loadavg_1m']}]")
    print(head + "\n" + table(summary_rows(results)), file=out, flush=True)
    if a.json:
        print(json.dumps({"machine": m, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
