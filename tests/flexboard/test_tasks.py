from __future__ import annotations

import math

from flexboard import features, tasks


def test_the_interactive_task_is_not_the_plain_llama2_task():
    inter = tasks.lookup("llama2-70b-interactive-99.9")
    plain = tasks.lookup("llama2-70b-99")
    assert inter is not None and plain is not None and inter.key != plain.key
    assert inter.limits("Server").tpot_ms == 40 and plain.limits("Server").tpot_ms == 200
    assert plain.limits("Offline") is None  # Offline has no latency rule


def test_the_405b_task_has_its_long_outputs_and_limits():
    t = tasks.lookup("llama3.1-405b")
    assert t.output_tokens_per_sample == 684.68
    assert (t.limits("Server").ttft_ms, t.limits("Server").tpot_ms) == (6000, 175)
    assert tasks.lookup("gptj-99").output_tokens_per_sample is None  # its GEN_LEN counts characters
    assert all(v.startswith("https://github.com/mlcommons/inference/") for v in tasks.sources().values())


def test_an_open_row_runs_on_its_benchmarks_task_not_its_models():
    f = features.row_features({"model.name": "deepseek-v3", "model.mlperf_name": "llama3.1-405b",
                               "system.accelerator.name": "AMD Instinct MI300X 192GB HBM3",
                               "system.accelerator.count_per_node": 8, "submission.scenario": "Offline"})
    assert f["task"] == "llama3.1-405b" and f["task_output_tokens"] == 684.68
    assert math.isnan(f["tpot_limit_ms"])


def test_the_normalising_bound_ignores_the_declared_weight_type():
    # v4.1 rows declare fp16 for what v5.0 rows of the same systems declare fp8 (same TensorRT
    # runs, ~3000 vs ~3900 tokens/s per H100): a bound that followed the label jumped 2x
    row = {"model.name": "llama2-70b-99", "model.mlperf_name": "llama2-70b-99",
           "system.accelerator.name": "NVIDIA H100-SXM-80GB", "system.accelerator.count_per_node": 8,
           "submission.scenario": "Offline"}
    fp16 = features.row_features({**row, "model.weight_data_types": "fp16"})
    fp8 = features.row_features({**row, "model.weight_data_types": "fp8"})
    assert features.reference_log_bound(fp16) == features.reference_log_bound(fp8)
    assert math.exp(features.reference_log_bound(fp8)) == __import__("pytest").approx(1979e12 / (2 * 68.98e9), rel=0.01)
