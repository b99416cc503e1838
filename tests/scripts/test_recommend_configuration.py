"""recommend,configuration end to end through the cmx CLI, on the published dataset imported into a
temporary dataset folder (small predictor settings)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is in the flexboard extra (make install-test)")
SMALL = ("--max_iter=30", "--conformal_folds=0")


def test_recommend_ranks_measured_and_predicted_by_cost_with_provenance(cmx, published_dataset, tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("key,usd_per_hour\nh100-sxm-80gb,2.00\nl40s,0.80\n")
    r = cmx("run", "script", "--tags=recommend,configuration", f"--dataset_dir={published_dataset}", *SMALL,
            "--model=llama2-70b-99", "--max_tpot_ms=200", f"--prices={prices}", "--top=0", "-j")
    assert r.code == 0, r.err
    rec = r.json["new_state"]["recommendation"]
    opts = rec["options"]
    assert opts and [o["usd_per_million_tokens"] for o in opts] == sorted(o["usd_per_million_tokens"] for o in opts)
    assert {o["kind"] for o in opts} == {"measured", "predicted"}
    assert all(o["scenario"] == "Server" and o["latency"]["tpot_ms"] <= 200 for o in opts)
    h100 = [o for o in opts if o["accelerator"] == "h100-sxm-80gb"]
    assert h100 and all(o["usd_per_hour"] == pytest.approx(2.0 * o["accelerators"]) for o in h100)
    assert all(o["price_source"] == "your price table" for o in h100)
    measured = [o for o in opts if o["kind"] == "measured"]
    assert all(o["source"].startswith("published-dataset") or "data.parquet" in o["source"] or o["source"]
               for o in measured) and all(o["result_id"] for o in measured)
    predicted = [o for o in opts if o["kind"] == "predicted"]
    assert all(o["tokens_per_s_interval"][0] <= o["tokens_per_s"] <= o["tokens_per_s_interval"][1] for o in predicted)


@pytest.mark.parametrize("args,needle", [
    (("--model=nope-9b",), "--model=nope-9b"),
    (("--model=llama2-70b-99", "--budget=-1"), "--budget=-1"),
    (("--model=llama2-70b-99", "--learning_rate=0"), "--learning_rate=0: must be more than 0"),
])
def test_bad_input_is_a_usage_error(cmx, published_dataset, args, needle):
    r = cmx("run", "script", "--tags=recommend,configuration", f"--dataset_dir={published_dataset}", *SMALL, *args)
    assert r.code == 2 and needle in r.err and "Traceback" not in r.err, r.err


def test_a_negative_price_in_the_file_is_a_usage_error_naming_the_line(cmx, published_dataset, tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("key,usd_per_hour\nh100-sxm-80gb,2\nh200-sxm-141gb,-3\n")
    r = cmx("run", "script", "--tags=recommend,configuration", f"--dataset_dir={published_dataset}", *SMALL,
            "--model=llama2-70b-99", f"--prices={prices}")
    assert r.code == 2 and f"{prices}:3" in r.err and "Traceback" not in r.err, r.err


def test_an_empty_dataset_is_a_usage_error(cmx, tmp_path):
    r = cmx("run", "script", "--tags=recommend,configuration", f"--dataset_dir={tmp_path / 'empty'}", *SMALL,
            "--model=llama2-70b-99")
    assert r.code == 2 and "import,open-mlperf-dataset" in r.err and "Traceback" not in r.err, r.err
