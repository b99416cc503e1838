"""Batching: tokens/s over batch sizes 1/2/4/8 on SmolLM2 through LoadGen Offline (``_hf`` backend).

Every point is one ``python -m flexbench.run_test`` process in the benchmark venv,
performance mode, Offline, ``--samples`` samples of the mini dataset (fixed seed),
``--max-output-tokens``, ``--threads`` torch threads, ``min_duration`` 0. The
figures are LoadGen's own ``result_tokens_per_second`` / ``result_samples_per_second``
from ``mlperf_log_detail.txt``; TTFT and TPOT come from the SUT's clocks
(``run_info.json``), as FlexBench reports them for Offline. ``--runs`` rounds;
in each round every batch size runs once and the order rotates, so machine
noise is spread over all of them. Printed as a table and a text curve.

Before each run the script waits (``--min-idle``, ``--max-wait``) for the machine to be
idle, and it records how many cores other processes used during each run.

Run: ``.venv/bin/python benchmarks/flexbench_batching.py [--runs 3] [--json] [--batch-sizes 1 2 4 8]
[--samples 16] [--max-output-tokens 32] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flexbench_common import (  # noqa: E402
    Series, bench_main, work_dir, env_from_args, header, machine_line, noise_json, noise_line, rotate,
    run_flexbench_test, subprocess_env, write_user_conf,
)

CONF_MODEL = "flexbench-llm"


def _sut_medians(info: dict[str, Any]) -> tuple[float | None, float | None, int]:
    done = [t for t in info["sut_timings"] if t.get("latency_s") is not None and t.get("ttft_s") is not None]
    ttft = [t["ttft_s"] * 1000 for t in done]
    tpot = [(t["latency_s"] - t["ttft_s"]) * 1000 / (t["tokens"] - 1) for t in done if t["tokens"] > 1]
    return (statistics.median(ttft) if ttft else None, statistics.median(tpot) if tpot else None,
            sum(t["tokens"] for t in done))


def measure(a: argparse.Namespace) -> dict[str, Any]:
    env = env_from_args(a)
    penv = subprocess_env()
    with work_dir("flexbench-bench-batching-", a.keep) as work:
        user_conf = work / "user.conf"
        write_user_conf(user_conf, CONF_MODEL, min_query_count=a.samples, performance_sample_count=a.samples)
        base = {"backend": "hf", "scenario": "offline", "mode": "performance", "model_path": env.model_path,
                "tokenizer_path": env.model_path, "dataset_path": env.dataset_path, "dataset_size": a.samples,
                "seed": 42, "threads": a.threads, "max_input_tokens": 512, "max_output_tokens": a.max_output_tokens,
                "conf_model": CONF_MODEL, "performance_sample_count": a.samples, "expected_samples": a.samples,
                "user_conf": str(user_conf), "quiet": True, "warmup": True}
        tps = {b: Series(f"batch {b}", "tokens/s") for b in a.batch_sizes}
        sps = {b: Series(f"batch {b}", "samples/s") for b in a.batch_sizes}
        ttft = {b: Series(f"batch {b}", "ms") for b in a.batch_sizes}
        tpot = {b: Series(f"batch {b}", "ms") for b in a.batch_sizes}
        tokens: dict[int, list[int]] = {b: [] for b in a.batch_sizes}
        count = {"n": 0}

        def point(b: int) -> Any:
            def run() -> None:
                count["n"] += 1
                r = run_flexbench_test(env.python, dict(base, batch_size=b), work / f"b{b}-{count['n']}", penv)
                if not r.loadgen["valid"]:
                    raise RuntimeError(f"batch {b}: INVALID: {r.loadgen['invalid_reasons']}")
                tps[b].values.append(float(r.loadgen["tokens_per_second"]))
                sps[b].values.append(float(r.loadgen["samples_per_second"]))
                t1, t2, ntok = _sut_medians(r.info)
                if t1 is not None:
                    ttft[b].values.append(t1)
                if t2 is not None:
                    tpot[b].values.append(t2)
                tokens[b].append(ntok)
            return run

        rounds = rotate([(f"batch {b}", point(b)) for b in a.batch_sizes], a.runs, min_idle=a.min_idle, max_wait_s=a.max_wait)
        b1 = a.batch_sizes[0]
        return {
            "noise": noise_json(rounds),
            "machine": header("flexbench_batching"),
            "settings": {"samples": a.samples, "max_output_tokens": a.max_output_tokens, "threads": a.threads,
                         "batch_sizes": a.batch_sizes, "runs": a.runs, "model_path": env.model_path},
            "points": [{"batch_size": b, "tokens_per_second": tps[b].to_json(),
                        "samples_per_second": sps[b].to_json(),
                        "sut_ttft_median_ms": ttft[b].to_json() if ttft[b].values else None,
                        "sut_tpot_median_ms": tpot[b].to_json() if tpot[b].values else None,
                        "tokens_generated": tokens[b],
                        "speedup_vs_first": tps[b].median / tps[b1].median} for b in a.batch_sizes],
        }


def report_lines(res: dict[str, Any]) -> list[str]:
    s = res["settings"]
    rows = [["batch", "tokens/s (median)", "min-max", "samples/s", f"x batch {s['batch_sizes'][0]}",
             "TTFT p50 (SUT)", "TPOT p50 (SUT)", "tokens"]]
    for p in res["points"]:
        t = p["tokens_per_second"]
        rows.append([str(p["batch_size"]), f"{t['median']:.1f}", f"{t['min']:.1f}-{t['max']:.1f}",
                     f"{p['samples_per_second']['median']:.2f}", f"{p['speedup_vs_first']:.2f}",
                     f"{p['sut_ttft_median_ms']['median']:.0f} ms" if p["sut_ttft_median_ms"] else "-",
                     f"{p['sut_tpot_median_ms']['median']:.0f} ms" if p["sut_tpot_median_ms"] else "-",
                     "/".join(str(x) for x in sorted(set(p["tokens_generated"])))])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    top = max(p["tokens_per_second"]["median"] for p in res["points"])
    curve = [f"  batch {p['batch_size']:>3} | {'#' * max(1, round(40 * p['tokens_per_second']['median'] / top))} "
             f"{p['tokens_per_second']['median']:.1f}" for p in res["points"]]
    return ([f"flexbench batching: SmolLM2-135M via LoadGen Offline (_hf), {s['samples']} samples x "
             f"{s['max_output_tokens']} max output tokens, {s['threads']} torch threads; {s['runs']} rounds  "
             f"{machine_line(res['machine'])}"] + lines + ["", "  tokens/s (LoadGen):"] + curve + [noise_line(res["noise"])])


def _args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-output-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (LoadGen logs)")


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, runs=3, runs_help="rounds over all batch sizes", add_args=_args, measure=measure,
                      report=report_lines)


if __name__ == "__main__":
    sys.exit(main())
