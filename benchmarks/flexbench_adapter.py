"""Adapter overhead: the ``_noop`` backend through our LoadGenAdapter vs LoadGen with a bare echo SUT.

Both sides are one LoadGen Offline performance test in its own process in the
benchmark venv, with the same ``user.conf`` (``min_query_count`` = ``--samples``,
``min_duration`` 0, ``use_token_latencies`` on), the same QSL size (the 40
samples of the mini dataset, all of them the performance set) and the same
token count per sample (16):

* **adapter**: ``python -m flexbench.run_test`` with ``backend: noop``: LoadGen ->
  ``LoadGenAdapter.issue_queries`` -> queue -> worker thread -> batches of
  ``--batch-size`` -> ``NoopBackend.generate`` -> ``FirstTokenComplete`` and
  ``QuerySamplesComplete`` per sample, as in a real run.
* **bare**: this file run with ``--bare-worker`` in the benchmark venv: an echo SUT
  that answers each issued query inline with one ``QuerySamplesComplete`` call
  over all its samples (one shared 16-token buffer, ``n_tokens`` 16) and no
  ``FirstTokenComplete``.

The figure on both sides is LoadGen's ``result_samples_per_second`` (and tokens/s)
from ``mlperf_log_detail.txt``. ``--runs`` rounds, alternating which goes first;
medians, spreads, the ratio adapter/bare. Target (issue 5): >= 50 % of the bare
rate (the reference measured ~236k samples/s bare on this machine).

``--profile`` adds one adapter run under ``py-spy record`` (``--py-spy PATH``, all
threads, native frames off) and prints where the samples land.

Before each run the script waits (``--min-idle``, ``--max-wait``) for the machine to be
idle, and it records how many cores other processes used during each run.

Run: ``.venv/bin/python benchmarks/flexbench_adapter.py [--runs 5] [--json] [--samples 200000]
[--batch-size 8] [--profile --py-spy /path/to/py-spy]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flexbench_common import (  # noqa: E402
    ProcResult, Series, bench_main, work_dir, env_from_args, header, machine_line, noise_json,
    noise_line, rotate, run_flexbench_test, subprocess_env, write_user_conf,
)

from flexbench.loadgen_log import parse_detail, summarize  # noqa: E402

TARGET = 0.50
REFERENCE_BARE = 236_000.0
CONF_MODEL = "flexbench-llm"
TOKENS = 16
ADAPTER, BARE = "adapter (run_test, noop backend)", "bare echo SUT"


# -- the bare side: runs inside the benchmark venv ----------------------------------------------------------
def bare_worker(cfg_path: str) -> int:
    cfg: dict[str, Any] = json.loads(Path(cfg_path).read_text())
    import array

    import mlperf_loadgen as lg

    out = Path(cfg["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    buf = array.array("B", array.array("i", list(range(1, TOKENS + 1))).tobytes())
    addr, nbytes = buf.buffer_info()

    def issue(samples: Any) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, nbytes, TOKENS) for s in samples])

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.Offline
    settings.FromConfig(str(cfg["user_conf"]), CONF_MODEL, "Offline")
    settings.mode = lg.TestMode.PerformanceOnly
    settings.use_token_latencies = True
    log = lg.LogSettings()
    log.log_output.outdir = str(out)
    log.log_output.copy_summary_to_stdout = False
    log.enable_trace = False
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(int(cfg["qsl_size"]), int(cfg["qsl_size"]), lambda idx: None, lambda idx: None)
    t0 = time.perf_counter()
    lg.StartTestWithLogSettings(sut, qsl, settings, log)
    wall = time.perf_counter() - t0
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    print(json.dumps({"loadgen_wall_s": wall}))
    return 0


# -- the driver: runs with cmx's venv python ----------------------------------------------------------------
def qsl_size(dataset_path: str) -> int:
    return sum(1 for line in Path(dataset_path).read_text(encoding="utf-8").splitlines() if line.strip())


def run_bare(py: str, cfg: dict[str, Any], out_dir: Path, env: dict[str, str]) -> ProcResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = out_dir / "bare.json"
    cfg_path.write_text(json.dumps(dict(cfg, out_dir=str(out_dir))))
    t0 = time.perf_counter()
    proc = subprocess.run([py, str(Path(__file__).resolve()), "--bare-worker", str(cfg_path)], env=env, text=True,
                          cwd=str(out_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"bare echo SUT exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return ProcResult(dt, out_dir, summarize(parse_detail(out_dir / "mlperf_log_detail.txt")), info)


def profile(py_spy: str, py: str, cfg: dict[str, Any], out_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """One adapter run under py-spy (all threads, idle samples dropped); self and inclusive shares per function."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = out_dir / "config.json"
    cfg_path.write_text(json.dumps(dict(cfg, out_dir=str(out_dir)), indent=1))
    raw = out_dir / "profile.txt"
    proc = subprocess.run([py_spy, "record", "--format", "raw", "--threads", "--rate", "250", "-o", str(raw), "--",
                           py, "-m", "flexbench.run_test", str(cfg_path)], env=env, cwd=str(out_dir),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0 or not raw.is_file():
        return {"error": f"py-spy exited {proc.returncode}: {proc.stderr[-800:]}"}
    self_n: collections.Counter[str] = collections.Counter()
    incl_n: collections.Counter[str] = collections.Counter()
    thread_n: collections.Counter[str] = collections.Counter()
    total = 0
    in_test = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        if not any("StartTestWithLogSettings" in f or "sut.py" in f for f in frames):
            continue  # outside the LoadGen test: imports, set-up
        in_test += n
        total += n
        thread_n[frames[0]] += n
        self_n[_short(frames[-1])] += n
        for f in set(_short(x) for x in frames[1:]):
            incl_n[f] += n
    return {"samples_in_test": in_test, "threads": thread_n.most_common(),
            "self": [(f, n / total) for f, n in self_n.most_common(15)] if total else [],
            "inclusive": [(f, n / total) for f, n in incl_n.most_common(25)] if total else [],
            "raw": str(raw)}


def _short(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:LINE)"
    name, _, loc = frame.partition(" (")
    loc = loc.rstrip(")")
    file, _, lineno = loc.rpartition(":")
    return f"{name} ({Path(file).name}:{lineno})" if file else name


def measure(a: argparse.Namespace) -> dict[str, Any]:
    env = env_from_args(a, need_model=False)
    penv = subprocess_env()
    with work_dir("flexbench-bench-adapter-", a.keep) as work:
        size = qsl_size(env.dataset_path)
        user_conf = work / "user.conf"
        write_user_conf(user_conf, CONF_MODEL, min_query_count=a.samples, performance_sample_count=size)
        cfg = {"backend": "noop", "scenario": "offline", "mode": "performance", "dataset_path": env.dataset_path,
               "dataset_size": None, "seed": 42, "batch_size": a.batch_size, "noop_tokens": TOKENS,
               "conf_model": CONF_MODEL, "performance_sample_count": size, "expected_samples": a.samples,
               "user_conf": str(user_conf), "quiet": True, "warmup": True}
        bare_cfg = {"user_conf": str(user_conf), "qsl_size": size}
        sps = {k: Series(lbl, "samples/s") for k, lbl in (("adapter", ADAPTER), ("bare", BARE))}
        tps = {k: Series(lbl, "tokens/s") for k, lbl in (("adapter", ADAPTER), ("bare", BARE))}
        wall = {k: Series(lbl + " process wall", "s") for k, lbl in (("adapter", ADAPTER), ("bare", BARE))}
        counts: dict[str, list[Any]] = {"adapter": [], "bare": []}
        n = {"adapter": 0, "bare": 0}

        def record(side: str, r: ProcResult) -> None:
            lgr = r.loadgen
            if not lgr["valid"]:
                raise RuntimeError(f"{side} run INVALID: {lgr['invalid_reasons']}")
            sps[side].values.append(float(lgr["samples_per_second"]))
            tps[side].values.append(float(lgr["tokens_per_second"]))
            wall[side].values.append(r.seconds)
            counts[side].append(lgr["settings"]["samples_per_query"])

        def adapter() -> None:
            n["adapter"] += 1
            record("adapter", run_flexbench_test(env.python, cfg, work / f"a{n['adapter']}", penv))

        def bare() -> None:
            n["bare"] += 1
            record("bare", run_bare(env.python, bare_cfg, work / f"b{n['bare']}", penv))

        rounds = rotate([("adapter", adapter), ("bare", bare)], a.runs, min_idle=a.min_idle, max_wait_s=a.max_wait)
        per_round = [x / y for x, y in zip(sps["adapter"].values, sps["bare"].values)]
        res: dict[str, Any] = {
            "noise": noise_json(rounds),
            "machine": header("flexbench_adapter"),
            "settings": {"samples": a.samples, "qsl_size": size, "tokens_per_sample": TOKENS,
                         "batch_size": a.batch_size, "runs": a.runs, "venv_python": env.python},
            "samples_per_query": {k: sorted(set(v)) for k, v in counts.items()},
            "series": {**{f"{k}_sps": s.to_json() for k, s in sps.items()},
                       **{f"{k}_tps": s.to_json() for k, s in tps.items()},
                       **{f"{k}_wall_s": s.to_json() for k, s in wall.items()}},
            "ratio_adapter_over_bare": sps["adapter"].median / sps["bare"].median,
            "ratio_per_round": per_round,
            "target": TARGET,
            "reference_bare_sps": REFERENCE_BARE,
        }
        if a.profile:
            print("profiling one adapter run under py-spy", file=sys.stderr, flush=True)
            res["profile"] = profile(a.py_spy, env.python, cfg, work / "profile", penv)
        return res


def report_lines(res: dict[str, Any]) -> list[str]:
    s = res["settings"]
    ser = {k: Series(v["label"], v["unit"], v["values"]) for k, v in res["series"].items()}
    pr = res["ratio_per_round"]
    out = [f"flexbench adapter overhead: LoadGen Offline, {s['samples']:,} samples x {s['tokens_per_sample']} tokens "
           f"(QSL {s['qsl_size']}), adapter batch {s['batch_size']}; {s['runs']} rounds  {machine_line(res['machine'])}",
           f"  samples per query issued by LoadGen: {res['samples_per_query']}",
           f"  {ser['adapter_sps'].line(',.0f')}", f"  {ser['bare_sps'].line(',.0f')}",
           f"  tokens/s: adapter {ser['adapter_tps'].median:,.0f}, bare {ser['bare_tps'].median:,.0f}",
           f"  ratio adapter/bare (medians): {res['ratio_adapter_over_bare']:.3f}  (per round {min(pr):.3f}-"
           f"{max(pr):.3f}); target >= {TARGET:.0%}; reference bare rate ~{REFERENCE_BARE:,.0f} samples/s",
           f"  process wall (median): adapter {ser['adapter_wall_s'].median:.2f} s, bare {ser['bare_wall_s'].median:.2f} s",
           noise_line(res["noise"])]
    prof = res.get("profile")
    if prof:
        if "error" in prof:
            out.append(f"  profile: {prof['error']}")
        else:
            out.append(f"  profile (py-spy, {prof['samples_in_test']} samples inside the LoadGen test, all threads):")
            out.append("    threads: " + ", ".join(f"{t} {c}" for t, c in prof["threads"]))
            out.append("    self time:")
            out += [f"      {share:6.1%}  {f}" for f, share in prof["self"][:12]]
            out.append("    inclusive:")
            out += [f"      {share:6.1%}  {f}" for f, share in prof["inclusive"][:20]]
    return out


def _args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--samples", type=int, default=200_000, help="LoadGen min_query_count (default 200,000)")
    ap.add_argument("--batch-size", type=int, default=8, help="the adapter's batch size (recipe default 8)")
    ap.add_argument("--profile", action="store_true", help="also profile one adapter run with py-spy")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy binary")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (LoadGen logs, profile)")


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, runs=5, runs_help="rounds of adapter + bare", add_args=_args, measure=measure,
                      report=report_lines, bare_worker=bare_worker)


if __name__ == "__main__":
    sys.exit(main())
