"""One LoadGen test in this process: ``python -m flexbench.run_test CONFIG.json``.

LoadGen allows one ``FromConfig`` per process, so each mode (performance,
accuracy) runs in its own process. Writes LoadGen's logs plus ``run_info.json``
(cold-start figures, peak RSS, per-sample timings seen by the SUT, errors).
Exit code 0 on success, 3 when the backend failed.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from flexbench import dataset
from flexbench.backends import create
from flexbench.backends.base import BackendError
from flexbench.sut import LoadGenAdapter

SCENARIOS = {"offline": "Offline", "server": "Server", "singlestream": "SingleStream", "multistream": "MultiStream"}


def _progress(total: int, quiet: bool) -> Any:
    """A callback updating a progress bar on a terminal, or printing every 10%."""
    if quiet:
        return None, lambda: None
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        prog = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), transient=False)
        task = prog.add_task("LoadGen samples", total=total)
        prog.start()
        return (lambda done: prog.update(task, completed=done)), prog.stop
    step = max(1, total // 10)
    beyond = max(step, 1000)  # LoadGen may issue more than expected (Offline: target_qps x duration)

    def report(done: int) -> None:
        if done == total or done % (step if done < total else beyond) == 0:
            print(f"  samples completed: {done}/{total}", file=sys.stderr, flush=True)

    return report, lambda: None


def main(argv: list[str]) -> int:
    cfg: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    out = Path(cfg["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    import mlperf_loadgen as lg

    t0 = time.perf_counter()
    backend = create(cfg["backend"], cfg)
    try:
        load_timings = backend.load()
        samples = dataset.load(cfg["dataset_path"], size=cfg.get("dataset_size"), seed=int(cfg.get("seed", 42)))
        prompts = [backend.prompt_for(s.question, s.system_prompt) for s in samples]
    except (BackendError, dataset.DatasetError) as exc:
        (out / "run_info.json").write_text(json.dumps({"mode": cfg["mode"], "errors": [str(exc)]}, indent=1))
        print(f"flexbench: {exc}", file=sys.stderr)
        return 3
    scenario = SCENARIOS[cfg["scenario"].lower()]
    accuracy = cfg["mode"] == "accuracy"
    n_samples = len(samples)
    perf_count = int(cfg.get("performance_sample_count") or n_samples)
    if accuracy or perf_count <= n_samples:
        perf_count = min(perf_count, n_samples)
    else:
        # MLPerf benchmarks fix the performance sample count (13,368 for llama3.1-8b). A smaller
        # dataset is padded by cycling through it, so the QSL really holds that many samples; the
        # padding is recorded in run_info.json and result.json. Accuracy always covers the dataset once.
        prompts = [prompts[i % n_samples] for i in range(perf_count)]
    qsl_total = len(prompts)
    total_expected = len(samples) if accuracy else int(cfg.get("expected_samples") or perf_count)
    progress, stop_progress = _progress(total_expected, bool(cfg.get("quiet")))
    concurrency = int(cfg.get("concurrency") or 0)
    if concurrency > 0 and scenario != "Offline":
        print(f"flexbench: the concurrency load mode runs under LoadGen Offline, not {scenario}", file=sys.stderr)
        return 3
    # concurrency mode: a closed loop, as MLPerf Endpoints measures. LoadGen Offline issues every
    # sample at once; `concurrency` workers each send one request and send the next when it is done,
    # so exactly that many requests are in flight (fewer only at the tail)
    adapter = LoadGenAdapter(lg, backend, prompts, batch_size=1 if concurrency else int(cfg.get("batch_size", 1)),
                             workers=concurrency or int(cfg.get("workers", 1)), on_progress=progress,
                             warmup=bool(cfg.get("warmup", True)), per_sample=concurrency > 0)
    adapter.ready.wait()  # cold start: the first inference after load, outside LoadGen's measurement
    first_inference_s = adapter.warmup_s
    if adapter.warmup_error:
        stop_progress()
        adapter.stop()
        (out / "run_info.json").write_text(json.dumps({"mode": cfg["mode"], "errors": [adapter.warmup_error]}, indent=1))
        print(f"flexbench: {adapter.warmup_error}", file=sys.stderr)
        return 3
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, scenario)
    settings.FromConfig(str(cfg["user_conf"]), str(cfg["conf_model"]), scenario)
    settings.mode = lg.TestMode.AccuracyOnly if accuracy else lg.TestMode.PerformanceOnly
    if cfg.get("endpoints_seed_set"):
        # an MLPerf Endpoints seed set replaces the round's LoadGen seeds (user.conf cannot set seeds:
        # LoadGen reads them from its embedded mlperf.conf only); LoadGen logs the ones it used
        from flexbench.endpoints.rules import SEED_SETS

        seeds = SEED_SETS[str(cfg["endpoints_seed_set"])]
        settings.schedule_rng_seed = seeds["scheduler_rng_seed"]
        settings.sample_index_rng_seed = seeds["sample_index_rng_seed"]
    settings.use_token_latencies = True
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(out)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = False
    sut = lg.ConstructSUT(adapter.issue_queries, adapter.flush_queries)
    qsl = lg.ConstructQSL(qsl_total, perf_count, lambda idx: None, lambda idx: None)
    t_start = time.perf_counter()
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    finally:
        stop_progress()
        adapter.stop()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    wall = time.perf_counter() - t_start
    # in concurrency mode a request's latency and TTFT run from its sending (the client's view, as
    # Endpoints measures); otherwise from LoadGen's issue, which includes any wait in the SUT's queue
    timings = [
        {"index": t.index,
         "latency_s": (t.done - (t.sent if concurrency and t.sent else t.issued)) if t.done else None,
         "ttft_s": (t.first - (t.sent if concurrency and t.sent else t.issued)) if t.first else None,
         "tokens": t.tokens}
        for t in adapter.stats.timings.values()
    ]
    info = {
        "mode": cfg["mode"],
        "scenario": scenario,
        "load_mode": "concurrency" if concurrency else "scenario",
        "concurrency": concurrency or None,
        "max_in_flight": _max_in_flight(adapter.stats.timings.values()),
        "backend": backend.describe(),
        "samples_in_dataset": len(samples),
        "performance_sample_count": perf_count,
        "qsl_total_count": qsl_total,
        "qsl_padded": qsl_total > n_samples,
        "cold_start": {**load_timings, "first_inference_s": first_inference_s,
                       "process_to_ready_s": t_start - t0},
        "loadgen_wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "errors": adapter.stats.errors,
        "sut_timings": timings,
    }
    (out / "run_info.json").write_text(json.dumps(info, indent=1))
    if adapter.stats.errors:
        print(f"flexbench: backend failed: {adapter.stats.errors[0]}", file=sys.stderr)
        return 3
    return 0


def _max_in_flight(timings: Any) -> int | None:
    """The most requests the SUT had at the backend at once (from its send and done stamps)."""
    events = []
    for t in timings:
        if t.sent is not None and t.done is not None:
            events += [(t.sent, 1), (t.done, -1)]
    if not events:
        return None
    events.sort(key=lambda e: (e[0], e[1]))  # a completion before a send at the same instant
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
