"""The predictor's recipes end to end through the cmx CLI, on the published dataset imported into
a temporary dataset folder."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is in the flexboard extra (make install-test)")


def test_evaluate_gives_ours_the_baseline_and_coverage(cmx, published_dataset):
    r = cmx("run", "script", "--tags=evaluate,flexboard,predictor", "--split=random", f"--dataset_dir={published_dataset}",
            "--max_iter=30", "--conformal_folds=0", "-j")
    assert r.code == 0, r.err
    s = r.json["new_state"]
    assert s["split"] == "random" and s["rows"] == 847
    assert isinstance(s["mape"], float) and isinstance(s["baseline_mape"], float)
    assert 0 <= s["interval_coverage"] <= 100


def test_leave_round_out_tests_the_newest_round_and_says_per_task(cmx, published_dataset):
    r = cmx("run", "script", "--tags=evaluate,flexboard,predictor", "--split=leave-round-out",
            f"--dataset_dir={published_dataset}", "--max_iter=30", "--conformal_folds=0", "-j")
    assert r.code == 0, r.err
    s = r.json["new_state"]
    assert s["test_rows"] == 532 and "trained on v4.1, tested on v5.0" in s["notes"][0]
    per = s["per_task"]
    assert sum(v["rows"] for v in per.values()) == 532
    assert not per["llama3.1-405b/Offline"]["seen_task"] and per["llama2-70b/Interactive"]["seen_task"]
    assert "llama3.1-405b/Offline: " in r.err and "(task new to training)" in r.err


def test_leave_task_out_holds_out_each_task_and_says_per_task(cmx, published_dataset):
    r = cmx("run", "script", "--tags=evaluate,flexboard,predictor", "--split=leave-task-out",
            f"--dataset_dir={published_dataset}", "--max_iter=30", "--conformal_folds=0", "-j")
    assert r.code == 0, r.err
    s = r.json["new_state"]
    assert s["test_rows"] == 847 and s["folds"] == 4  # gptj, llama2-70b (with its interactive rows), mixtral, 405b
    assert {f["fold"] for f in s["per_fold"]} == {"gptj", "llama2-70b", "mixtral-8x7b", "llama3.1-405b"}
    assert s["test_rows_unseen_task"] == 847 and not any(v["seen_task"] for v in s["per_task"].values())
    assert "baseline_mape" in s and "gptj/Offline: " in r.err


def test_evaluate_on_an_empty_dataset_says_what_to_import(cmx, tmp_path):
    r = cmx("run", "script", "--tags=evaluate,flexboard,predictor", f"--dataset_dir={tmp_path / 'empty'}", "-j")
    assert r.code == 2, r.err  # no data is bad input: a usage error
    assert "import,open-mlperf-dataset" in r.err and "Traceback" not in r.err


def test_train_is_cached_by_data_and_settings_and_predict_uses_it(cmx, published_dataset, tmp_path):
    args = ("run", "script", "--tags=predict,performance", f"--dataset_dir={published_dataset}", "--max_iter=40", "--conformal_folds=0",
            "--model=llama2-70b-99", "--accelerator=NVIDIA H200-SXM-141GB", "--count=8", "-j")
    first = cmx(*args)
    assert first.code == 0, first.err
    p = first.json["new_state"]["predictions"][0]
    lo, hi = p["interval_80"]
    assert lo <= p["tokens_per_s_per_accelerator"] <= hi
    again = cmx(*args)
    assert again.code == 0, again.err
    assert re.search(r"train-flexboard-predictor\s+cached", again.err), again.err  # same data and settings
    other = cmx(*[a if a != "--max_iter=40" else "--max_iter=41" for a in args])
    assert other.code == 0 and re.search(r"train-flexboard-predictor\s+done", other.err), other.err
    assert again.json["new_state"]["predictions"] == first.json["new_state"]["predictions"]
    cfg = tmp_path / "configs.json"
    cfg.write_text(json.dumps([{"model.name": "mixtral-8x7b", "system.accelerator.name": "AMD Instinct MI325X",
                                "system.accelerator.count_per_node": 8, "system.accelerator.total_count": 8,
                                "model.weight_data_types": "fp8", "submission.scenario": "Server"}]))
    from_file = cmx("run", "script", "--tags=predict,performance", f"--dataset_dir={published_dataset}", "--max_iter=40", "--conformal_folds=0",
                    f"--input={cfg}", "-j")
    assert from_file.code == 0, from_file.err
    assert from_file.json["new_state"]["predictions"][0]["tokens_per_s_per_accelerator"] > 0
    # a CSV row without the total: completed as the flags are (8 per node x 2 nodes), so the system figure is 16x
    csv = tmp_path / "configs.csv"
    csv.write_text("model.name,system.accelerator.name,system.accelerator.count_per_node,system.number_of_nodes\n"
                   "llama2-70b-99,NVIDIA H200-SXM-141GB,8,2\n")
    from_csv = cmx("run", "script", "--tags=predict,performance", f"--dataset_dir={published_dataset}", "--max_iter=40",
                   "--conformal_folds=0", f"--input={csv}", "-j")
    assert from_csv.code == 0, from_csv.err
    (p16,) = from_csv.json["new_state"]["predictions"]
    assert p16["config"]["system.accelerator.total_count"] == 16 and p16["config"]["submission.scenario"] == "Offline"
    assert p16["tokens_per_s_system"] == pytest.approx(16 * p16["tokens_per_s_per_accelerator"], abs=0.1)
    # a row naming an accelerator nobody knows: exit 2, the file and line named, nothing predicted
    csv.write_text("model.name,system.accelerator.name\nllama2-70b-99,NVIDIA H200-SXM-141GB\nllama2-70b-99,Potato-9000\n")
    bad = cmx("run", "script", "--tags=predict,performance", f"--dataset_dir={published_dataset}", "--max_iter=40",
              "--conformal_folds=0", f"--input={csv}")
    assert bad.code == 2 and f"{csv}:3: accelerator 'Potato-9000'" in bad.err and "Traceback" not in bad.err, bad.err


def test_predict_with_an_unknown_accelerator_is_a_clear_error(cmx, published_dataset):
    r = cmx("run", "script", "--tags=predict,performance", f"--dataset_dir={published_dataset}", "--max_iter=40", "--conformal_folds=0",
            "--model=llama2-70b-99", "--accelerator=Potato-9000")
    assert r.code == 2 and "--accelerator=Potato-9000" in r.err and "Traceback" not in r.err
