from __future__ import annotations

import json

import pandas as pd
import pytest

from flexboard import prices, recommend
from flexboard.errors import FlexBoardError

PRICED = {"h100-sxm-80gb": 3.0, "h200-sxm-141gb": 4.0, "mi300x-192gb": 2.0}


def test_measured_and_predicted_options_are_ranked_by_cost(published_rows, small_predictor):
    rec = recommend.recommend(published_rows, small_predictor, "llama2-70b-99", prices=PRICED, top=0)
    costs = [o.usd_per_million_tokens for o in rec.options]
    assert costs == sorted(costs) and {o.kind for o in rec.options} == {"measured", "predicted"}
    assert {o.accelerator for o in rec.options} <= set(PRICED)  # unpriced accelerators are left out
    assert rec.left_out["no price for the accelerator"] > 0
    for o in rec.options:
        assert o.usd_per_million_tokens == pytest.approx(o.usd_per_hour / (o.tokens_per_s * 3600) * 1e6)
        assert o.usd_per_hour == pytest.approx(PRICED[o.accelerator] * o.accelerators)
        if o.kind == "predicted":
            lo, hi = o.tokens_per_s_interval
            assert lo <= o.tokens_per_s <= hi and o.source.startswith("predicted")
        else:
            assert o.tokens_per_s_interval is None and "MLPerf inference v" in o.source


def test_measured_rows_are_the_rows_of_that_benchmark(published_rows):
    rec = recommend.recommend(published_rows, None, "mixtral-8x7b", prices=PRICED, top=0)
    mixtral = published_rows[published_rows["model.mlperf_name"] == "mixtral-8x7b"]
    priced = mixtral["system.accelerator.name"].str.contains("H100-SXM|H200-SXM|MI300X|H100 80GB")
    assert len(rec.options) == int(priced.sum()) > 0
    best = rec.options[0]
    row = mixtral[mixtral["metrics.result"] == best.tokens_per_s].iloc[0]
    assert best.organization == row["submission.organization"]


def test_latency_constraints_leave_out_offline_and_looser_rules(published_rows, small_predictor):
    rec = recommend.recommend(published_rows, small_predictor, "llama2-70b-99",
                              recommend.Constraints(max_tpot_ms=100), prices=PRICED, top=0)
    assert rec.options == []  # Offline has no latency rule; llama2-70b Server's TPOT limit is 200 ms
    rec = recommend.recommend(published_rows, small_predictor, "llama2-70b-99",
                              recommend.Constraints(max_tpot_ms=200), prices=PRICED, top=0)
    assert rec.options and all(o.scenario == "Server" and o.latency["tpot_ms"] <= 200 for o in rec.options)


def test_vendor_memory_budget_and_throughput_constraints(published_rows, small_predictor):
    c = recommend.Constraints(vendor="AMD", min_memory_gb=150, budget_usd_per_hour=10, min_tokens_per_s=1000)
    rec = recommend.recommend(published_rows, small_predictor, "llama2-70b-99", c, prices=PRICED, top=0)
    assert rec.options
    for o in rec.options:
        assert o.vendor == "AMD" and o.usd_per_hour <= 10 and o.tokens_per_s >= 1000


def test_a_flexbench_row_carries_its_reproduce_command(published_rows):
    row = published_rows[published_rows["model.mlperf_name"] == "llama2-70b-99"].iloc[[0]].copy()
    row["provenance.source_kind"] = "flexbench-run"
    row["provenance.source"] = "cache/runs"
    row["provenance.reproduce"] = "cmx run script --tags=run,flexbench --model=x"
    rec = recommend.recommend(pd.concat([row]), None, "llama2-70b-99", prices=PRICED)
    assert rec.options[0].reproduce == "cmx run script --tags=run,flexbench --model=x"
    assert rec.options[0].source == "cache/runs"


def test_a_flexbench_run_of_a_model_outside_the_mlperf_table_is_a_measured_option(published_rows, tmp_path):
    cfg = {"model_type": "llama", "num_hidden_layers": 30, "hidden_size": 576, "num_attention_heads": 9,
           "num_key_value_heads": 3, "intermediate_size": 1536, "vocab_size": 49152, "tie_word_embeddings": True}
    (tmp_path / "config.json").write_text(json.dumps(cfg))  # SmolLM2-135M's graph: no MLPerf model has it
    row = published_rows[published_rows["model.mlperf_name"] == "llama2-70b-99"].iloc[[0]].copy()
    row["model.name"], row["model.mlperf_name"] = str(tmp_path), None
    row["provenance.source_kind"], row["provenance.source"] = "flexbench-run", "cache/runs"
    row["provenance.reproduce"] = f"cmx run script --tags=run,flexbench --model={tmp_path}"
    other = published_rows[published_rows["model.mlperf_name"] == "mixtral-8x7b"].iloc[[0]]
    rec = recommend.recommend(pd.concat([row, other]), None, str(tmp_path), prices=PRICED)
    (opt,) = rec.options
    assert opt.kind == "measured" and opt.reproduce == f"cmx run script --tags=run,flexbench --model={tmp_path}"


def test_a_model_named_without_its_accuracy_target_gets_every_benchmark_of_it(published_rows):
    def measured(model):
        return sum(o.kind == "measured" for o in recommend.recommend(published_rows, None, model, prices=PRICED, top=0).options)

    rec = recommend.recommend(published_rows, None, "llama2-70b", prices=PRICED, top=0)
    benches = ("llama2-70b-99", "llama2-70b-99.9", "llama2-70b-interactive-99", "llama2-70b-interactive-99.9")
    assert rec.notes == ["measured rows of llama2-70b: the results of " + ", ".join(benches)]
    each = [measured(b) for b in benches]  # a benchmark name still means that benchmark only
    assert all(n > 0 for n in each) and measured("llama2-70b") == sum(each)


def test_bad_input_is_a_clear_error(published_rows, tmp_path):
    with pytest.raises(FlexBoardError, match="--model=nope-9b"):
        recommend.recommend(published_rows, None, "nope-9b", prices=PRICED)
    with pytest.raises(FlexBoardError, match="h100-sxm-80gb: -1"):
        recommend.recommend(published_rows, None, "llama2-70b-99", prices={"h100-sxm-80gb": -1})
    # each constraint is named by its flag of recommend,configuration (--budget, not the field's name)
    with pytest.raises(FlexBoardError, match="^--budget=-5: must be a finite number of at least 0"):
        recommend.recommend(published_rows, None, "llama2-70b-99", recommend.Constraints(budget_usd_per_hour=-5))
    with pytest.raises(FlexBoardError, match="^--budget=inf: "):
        recommend.recommend(published_rows, None, "llama2-70b-99", recommend.Constraints(budget_usd_per_hour=float("inf")))
    # a vendor no accelerator has would leave every option out without saying why
    with pytest.raises(FlexBoardError, match=r"^--vendor=Potato: no accelerator of the table is made by it \(one of AMD, Intel, NVIDIA\)"):
        recommend.recommend(published_rows, None, "llama2-70b-99", recommend.Constraints(vendor="Potato"))
    assert recommend.Constraints(vendor="amd").check().vendor == "amd"
    with pytest.raises(FlexBoardError, match="^--dtype=fp7: weight type unknown"):
        recommend.recommend(published_rows, None, "llama2-70b-99", prices=PRICED, dtype="fp7")
    with pytest.raises(FlexBoardError, match="no measured row and nothing to predict"):
        recommend.recommend(published_rows.head(0), None, "llama2-70b-99", prices=PRICED)


def test_a_price_file_replaces_the_defaults_it_names(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("key,usd_per_hour\nNVIDIA H100-SXM-80GB,1.5\nl40s,0.9\n")
    got = prices.load(f)
    assert got["h100-sxm-80gb"] == 1.5 and got["l40s"] == 0.9
    assert got["h200-sxm-141gb"] == prices.default_map()["h200-sxm-141gb"]
    f.write_text("key,usd_per_hour\nh100-sxm-80gb,2\nh200-sxm-141gb,-4\n")
    with pytest.raises(FlexBoardError, match=r"p\.csv:3: .*-4"):
        prices.load(f)
    f.write_text("key,usd_per_hour\nl40s,0.9\nh100-sxm-80gb\n")  # a row short of a field: not "unknown"
    with pytest.raises(FlexBoardError, match=r"p\.csv:3: 2 fields expected"):
        prices.load(f)
    f.write_text("key,usd_per_hour\npotato-9000,2\n")
    with pytest.raises(FlexBoardError, match=r"p\.csv:2: accelerator 'potato-9000'"):
        prices.load(f)
