"""Harness efficiency: tokens/s through LoadGen Offline (``_hf`` backend) vs a bare ``model.generate`` loop.

Both sides run in the benchmark venv, one fresh process per measurement, on the
same model (SmolLM2-135M from ``get,ml-model,smollm2``), the same fixed-seed
prompts of the mini dataset, the same chat template, tokenizer settings (left
padding, no added special tokens, truncation at ``max_input_tokens``), greedy
decoding, ``max_new_tokens``, torch thread count and batch size:

* **harness**: ``python -m flexbench.run_test`` in performance mode, Offline,
  ``--samples`` samples, ``min_duration`` 0. The figure is LoadGen's own
  ``result_tokens_per_second`` from ``mlperf_log_detail.txt``.
* **bare**: this file run with ``--bare-worker`` in the benchmark venv: load the
  model the same way, warm up on prompt 0 exactly as ``run_test`` does, then time
  ``model.generate`` over the same batches (the same samples in the same order and
  grouping as the harness used, read from the harness's ``run_info.json``) and
  divide the tokens by that wall time.

Tokens are counted the same way on both sides: per sample, the tokens before
the first EOS (an immediate EOS counts as one token, as the harness reports it
to LoadGen), or ``max_new_tokens`` when no EOS comes. The per-sample counts of
both sides are compared, as a check that they generated the same text.

An untimed harness run first fixes LoadGen's issue order (its seeds are fixed
by the embedded mlperf.conf); then ``--runs`` rounds run harness and bare side
by side, alternating which goes first. Reported: medians, spreads, and the ratio
harness/bare of the medians and per round. Target (issue 5): >= 95 %.

``--diagnose`` adds a third series: the same bare loop, but timed on a second
thread after the warm-up ran on the main thread, which is how ``run_test``
drives the model (warm-up in ``main``, ``generate`` in the SUT worker thread).

Before each run the script waits (``--min-idle``, ``--max-wait``) for the machine
to be idle, and it records how many cores other processes used during each run.

Run: ``.venv/bin/python benchmarks/flexbench_harness.py [--runs 5] [--json] [--diagnose] [--samples 16]
[--max-output-tokens 32] [--batch-size 8] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flexbench_common import (  # noqa: E402
    BenchEnv, ProcResult, Series, bench_main, work_dir, env_from_args, header, machine_line,
    noise_json, noise_line, rotate, run_flexbench_test, run_json_script, subprocess_env, write_user_conf,
)

TARGET = 0.95
CONF_MODEL = "flexbench-llm"
HARNESS, BARE = "harness (LoadGen Offline, _hf)", "bare model.generate loop"
BARE_THREAD = "bare loop on a second thread, warm-up on the main thread (--diagnose)"


# -- the bare side: runs inside the benchmark venv ----------------------------------------------------------
def bare_worker(cfg_path: str) -> int:
    cfg: dict[str, Any] = json.loads(Path(cfg_path).read_text())
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flexbench import dataset  # the same fixed-seed sample as run_test; nothing else of the harness

    torch.set_num_threads(int(cfg["threads"]))
    tok = AutoTokenizer.from_pretrained(cfg["model_path"])
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(cfg["model_path"], dtype=torch.float32)
    model.eval()
    samples = dataset.load(cfg["dataset_path"], size=int(cfg["samples"]), seed=int(cfg["seed"]))
    prompts = []
    for s in samples:
        msgs = ([{"role": "system", "content": s.system_prompt}] if s.system_prompt else [])
        msgs.append({"role": "user", "content": s.question})
        prompts.append(str(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)))
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos if eos is not None else tok.eos_token_id])
    max_new = int(cfg["max_output_tokens"])

    def gen(batch: list[str]) -> list[int]:
        enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=int(cfg["max_input_tokens"]),
                  add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id)
        counts = []
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            n = next((i for i, t in enumerate(row) if t in eos_ids), len(row))
            counts.append(max(1, n))
        return counts

    batches: list[list[int]] = cfg["batches"]
    counts: dict[int, int] = {}
    timing: dict[str, float] = {}

    def timed_loop() -> None:
        t0 = time.perf_counter()
        for b in batches:
            for idx, n in zip(b, gen([prompts[i] for i in b])):
                counts[idx] = n
        timing["seconds"] = time.perf_counter() - t0

    gen(prompts[:1])  # the same warm-up as run_test (first prompt, alone, on the main thread)
    if cfg.get("thread_mode") == "worker":
        # as the harness does it: the timed generate calls run on a second thread (the SUT worker)
        import threading

        th = threading.Thread(target=timed_loop)
        th.start()
        th.join()
    else:
        timed_loop()
    seconds = timing["seconds"]
    tokens = sum(counts.values())
    print(json.dumps({"tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
                      "samples_per_second": len(counts) / seconds, "counts": counts,
                      "torch_threads": torch.get_num_threads()}))
    return 0


# -- the driver: runs with cmx's venv python ----------------------------------------------------------------
def issue_batches(info: dict[str, Any], batch_size: int) -> list[list[int]]:
    """The batches the adapter formed, in order, from the SUT's timings (issue order, TTFT clusters).

    Samples of one batch get their first token in the same generation step (microseconds apart);
    consecutive batches are a whole prefill + decode apart.
    """
    timings = info["sut_timings"]
    batches: list[list[int]] = []
    last: float | None = None
    for t in timings:
        ttft = t["ttft_s"]
        if batches and last is not None and abs(ttft - last) < 0.02 and len(batches[-1]) < batch_size:
            batches[-1].append(t["index"])
        else:
            batches.append([t["index"]])
        last = ttft
    return batches


def harness_cfg(env: BenchEnv, a: argparse.Namespace, user_conf: Path) -> dict[str, Any]:
    return {
        "backend": "hf", "scenario": "offline", "mode": "performance", "model_path": env.model_path,
        "tokenizer_path": env.model_path, "dataset_path": env.dataset_path, "dataset_size": a.samples, "seed": 42,
        "batch_size": a.batch_size, "threads": a.threads, "max_input_tokens": 512,
        "max_output_tokens": a.max_output_tokens, "conf_model": CONF_MODEL, "performance_sample_count": a.samples,
        "expected_samples": a.samples, "user_conf": str(user_conf), "quiet": True, "warmup": True,
    }


def measure(a: argparse.Namespace) -> dict[str, Any]:
    env = env_from_args(a)
    penv = subprocess_env()
    with work_dir("flexbench-bench-harness-", a.keep) as work:
        user_conf = work / "user.conf"
        write_user_conf(user_conf, CONF_MODEL, min_query_count=a.samples, performance_sample_count=a.samples)
        cfg = harness_cfg(env, a, user_conf)
        print(f"harness: untimed run to fix LoadGen's issue order ({a.samples} samples)", file=sys.stderr, flush=True)
        first = run_flexbench_test(env.python, cfg, work / "h-untimed", penv)
        batches = issue_batches(first.info, a.batch_size)
        bare_cfg = {"model_path": env.model_path, "dataset_path": env.dataset_path, "samples": a.samples, "seed": 42,
                    "threads": a.threads, "max_input_tokens": 512, "max_output_tokens": a.max_output_tokens,
                    "batches": batches}
        bare_cfg_path = work / "bare.json"
        bare_cfg_path.write_text(json.dumps(bare_cfg))
        h_tps = Series(HARNESS, "tokens/s")
        b_tps = Series(BARE, "tokens/s")
        h_wall = Series("harness process wall", "s")
        b_wall = Series("bare process wall", "s")
        h_runs: list[ProcResult] = []
        b_runs: list[dict[str, Any]] = []
        n = {"h": 0}

        def harness() -> None:
            n["h"] += 1
            r = run_flexbench_test(env.python, cfg, work / f"h{n['h']}", penv)
            if not r.loadgen["valid"]:
                raise RuntimeError(f"harness run INVALID: {r.loadgen['invalid_reasons']}")
            h_runs.append(r)
            h_tps.values.append(float(r.loadgen["tokens_per_second"]))
            h_wall.values.append(r.seconds)

        def bare() -> None:
            dt, res = run_json_script(env.python, [str(Path(__file__).resolve()), "--bare-worker", str(bare_cfg_path)],
                                      penv, work)
            b_runs.append(res)
            b_tps.values.append(float(res["tokens_per_second"]))
            b_wall.values.append(dt)

        thr_tps = Series(BARE_THREAD, "tokens/s")
        thr_cfg_path = work / "bare-thread.json"
        thr_cfg_path.write_text(json.dumps(dict(bare_cfg, thread_mode="worker")))

        def bare_thread() -> None:
            _, res = run_json_script(env.python, [str(Path(__file__).resolve()), "--bare-worker", str(thr_cfg_path)],
                                     penv, work)
            thr_tps.values.append(float(res["tokens_per_second"]))

        tasks = [("harness", harness), ("bare", bare)] + ([("bare in a thread", bare_thread)] if a.diagnose else [])
        rounds = rotate(tasks, a.runs, min_idle=a.min_idle, max_wait_s=a.max_wait)
        # checks: the same batches every run, the same token counts on both sides
        same_batches = all(issue_batches(r.info, a.batch_size) == batches for r in h_runs)
        h_counts = {t["index"]: t["tokens"] for t in h_runs[0].info["sut_timings"]}
        b_counts = {int(k): v for k, v in b_runs[0]["counts"].items()}
        mismatched = sorted(i for i in h_counts if h_counts[i] != b_counts.get(i))
        per_round = [h / b for h, b in zip(h_tps.values, b_tps.values)]
        cold = h_runs[0].info.get("cold_start") or {}
        return {
            "noise": noise_json(rounds),
            "machine": header("flexbench_harness"),
            "settings": {"samples": a.samples, "max_output_tokens": a.max_output_tokens, "batch_size": a.batch_size,
                         "threads": a.threads, "runs": a.runs, "model_path": env.model_path,
                         "venv_python": env.python},
            "batches": batches,
            "same_batches_every_run": same_batches,
            "tokens_harness": sum(h_counts.values()),
            "tokens_bare": sum(b_counts.values()),
            "token_count_mismatches": mismatched,
            "torch_threads": {"harness": (h_runs[0].info.get("backend") or {}).get("torch_threads"),
                              "bare": b_runs[0]["torch_threads"]},
            "series": {"harness_tps": h_tps.to_json(), "bare_tps": b_tps.to_json(),
                       "harness_wall_s": h_wall.to_json(), "bare_wall_s": b_wall.to_json(),
                       **({"bare_thread_tps": thr_tps.to_json()} if thr_tps.values else {})},
            "harness_loadgen_samples_per_second": statistics.median(
                float(r.loadgen["samples_per_second"]) for r in h_runs),
            "harness_cold_start": cold,
            "ratio_harness_over_bare": h_tps.median / b_tps.median,
            "ratio_per_round": per_round,
            "target": TARGET,
        }


def report_lines(res: dict[str, Any]) -> list[str]:
    s = res["settings"]
    h = Series(HARNESS, "tokens/s", res["series"]["harness_tps"]["values"])
    b = Series(BARE, "tokens/s", res["series"]["bare_tps"]["values"])
    pr = res["ratio_per_round"]
    out = [f"flexbench harness efficiency: SmolLM2-135M, {s['samples']} samples x {s['max_output_tokens']} max "
           f"output tokens, batch {s['batch_size']}, {s['threads']} torch threads; {s['runs']} rounds  "
           f"{machine_line(res['machine'])}",
           f"  batches (dataset indices, LoadGen issue order): {res['batches']}"
           f"{'' if res['same_batches_every_run'] else '  (NOT the same in every harness run!)'}",
           f"  tokens generated: harness {res['tokens_harness']}, bare {res['tokens_bare']}; per-sample count "
           f"mismatches: {len(res['token_count_mismatches'])}",
           f"  {h.line()}", f"  {b.line()}",
           f"  ratio harness/bare (medians): {res['ratio_harness_over_bare']:.3f}  (per round: "
           f"{min(pr):.3f}-{max(pr):.3f}, median {statistics.median(pr):.3f}); target >= {TARGET:.0%}",
           *([f"  {Series(BARE_THREAD, 'tokens/s', res['series']['bare_thread_tps']['values']).line()}; "
              f"harness/this {h.median / statistics.median(res['series']['bare_thread_tps']['values']):.3f}"]
             if "bare_thread_tps" in res["series"] else []),
           f"  harness LoadGen samples/s (median): {res['harness_loadgen_samples_per_second']:.3f}; "
           f"process wall: harness {statistics.median(res['series']['harness_wall_s']['values']):.1f} s, "
           f"bare {statistics.median(res['series']['bare_wall_s']['values']):.1f} s",
           noise_line(res["noise"])]
    return out


def _args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-output-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="torch threads on both sides (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (LoadGen logs)")
    ap.add_argument("--diagnose", action="store_true",
                    help="add a third series: the bare loop on a second thread after a main-thread warm-up, "
                         "the way run_test drives the model")


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, runs=5, runs_help="rounds of harness + bare", add_args=_args, measure=measure,
                      report=report_lines, bare_worker=bare_worker)


if __name__ == "__main__":
    sys.exit(main())
