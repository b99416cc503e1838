from __future__ import annotations

import math

import pytest

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
    # mlperf.conf counts every GPT-J sample as 69 tokens (token_latency_scaling_factor); llama3.1-8b
    # publishes no mean output length in tokens (its GEN_LEN counts characters): unknown, not guessed
    assert tasks.lookup("gptj-99").output_tokens_per_sample == 69
    assert tasks.lookup("llama3.1-8b").output_tokens_per_sample is None
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
    assert math.exp(features.reference_log_bound(fp8)) == pytest.approx(1979e12 / (2 * 68.98e9), rel=0.01)


def test_v50_interactive_server_and_v51_interactive_are_one_task_and_scenario():
    # v5.0 submitted llama2-70b-interactive-99 as a Server result; v5.1 reports the same rules as
    # llama2-70b-99 Interactive. Both must look the same to the predictor
    t50, s50 = tasks.resolve("llama2-70b-interactive-99", "Server")
    t51, s51 = tasks.resolve("llama2-70b-99", "Interactive")
    assert (t50.key, s50) == (t51.key, s51) == ("llama2-70b", "Interactive")
    assert (t50.limits(s50).ttft_ms, t50.limits(s50).tpot_ms) == (450, 40)
    off, s = tasks.resolve("llama2-70b-interactive-99.9", "Offline")
    assert (off.key, s) == ("llama2-70b", "Offline")
    row = {"system.accelerator.name": "NVIDIA H200-SXM-141GB", "system.accelerator.count_per_node": 8}
    f50 = features.row_features({**row, "model.name": "llama2-70b-interactive-99", "model.mlperf_name": "llama2-70b-interactive-99",
                                 "submission.scenario": "Server"})
    f51 = features.row_features({**row, "model.name": "llama2-70b-99", "model.mlperf_name": "llama2-70b-99",
                                 "submission.scenario": "Interactive"})
    keys = ("task", "scenario", "interactive", "ttft_limit_ms", "tpot_limit_ms", "latency_fraction", "log_ref_bound")
    assert {k: f50[k] for k in keys} == {k: f51[k] for k in keys}
    assert f51["interactive"] == 1.0 and f51["scenario"] == "Interactive"


def test_prefill_factor_on_a_hand_computed_example():
    # 9,000 prompt tokens and 600 generated: each generated token carries 15 prompt tokens
    assert features.prefill_factor(9000, 600) == 16.0
    assert features.prefill_factor(math.nan, 600) == 1.0  # unknown input: decode only
    assert features.prefill_factor(100, math.nan) == 1.0


def test_serving_bound_on_a_hand_computed_example():
    from flexboard.modelgraph import ModelGraph

    g = ModelGraph(key="toy", layers=1, hidden=1, heads=1, kv_heads=1, intermediate=1, vocab=1, experts=1,
                   active_experts=1, params_total=10e9, params_active=10e9, kv_bytes_per_token_per_byte=1e5,
                   config_dtype_bytes=2.0)
    feat = {"task_input_tokens": 900.0, "task_output_tokens": 100.0, "tpot_limit_ms": 50.0}
    b = features.serving_bound(feat, g, peak_tflops=1000.0, bandwidth_gbs=2000.0, tp=4.0)
    # FLOPs per generated token 2·10e9·(900+100)/100 = 2e11 -> 1e15 / 2e11 = 5,000 tokens/s
    assert b["prefill_factor"] == 10.0 and math.exp(b["log_prefill_bound"]) == pytest.approx(5000.0)
    # context 900 + 100/2 = 950 tokens of 1e5 KV bytes read per token: 950e5·1e15 / (2e12·2e11)
    assert b["context_tokens"] == 950.0 and b["kv_read_ratio"] == pytest.approx(0.2375)
    # weights 10 GB over 4 accelerators at 2 TB/s: 1.25 ms of each 50 ms step
    assert b["latency_fraction"] == pytest.approx(0.975)
    assert math.exp(b["log_serving_bound"]) == pytest.approx(5000.0 / 1.2375 * 0.975)
    offline = features.serving_bound({**feat, "tpot_limit_ms": math.nan}, g, 1000.0, 2000.0, 4.0)
    assert offline["latency_fraction"] == 1.0
    # weights that alone take longer than the TPOT limit leave the floor, not a negative batch
    slow = features.serving_bound({**feat, "tpot_limit_ms": 1.0}, g, 1000.0, 2000.0, 1.0)
    assert slow["latency_fraction"] == 0.02
