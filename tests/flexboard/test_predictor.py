from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from flexboard import evaluate, features, predictor
from flexboard.errors import FlexBoardError

SMALL = predictor.Settings(max_iter=30, conformal_folds=0)


def test_features_use_no_accelerator_name():
    assert not any("name" in f for f in features.FEATURES)
    assert "acc_key" not in features.FEATURES and "acc_key" in features.MEMORY  # only the memory model sees it


def test_roofline_features_follow_the_table():
    f = features.row_features({"model.name": "llama2-70b-99", "model.weight_data_types": "fp8",
                               "system.accelerator.name": "NVIDIA H100-SXM-80GB",
                               "system.accelerator.count_per_node": 8, "submission.scenario": "Offline"})
    # 1979 TFLOP/s fp8 dense / (2 x 68.98e9 FLOPs per token)
    assert np.exp(f["log_compute_bound"]) == pytest.approx(1979e12 / (2 * 68.98e9), rel=0.01)
    assert f["weights_gb_per_accel"] == pytest.approx(68.98 / 8, rel=0.01)


def test_predictions_are_within_their_interval_and_reload(small_predictor, published_rows, tmp_path):
    p = small_predictor
    path = tmp_path / "m.pkl"
    p.save(path)
    again = predictor.load(path).predict_frame(published_rows.head(50))
    first = p.predict_frame(published_rows.head(50))
    assert np.allclose(again["predicted"], first["predicted"])
    assert (first["low"] <= first["predicted"]).all() and (first["predicted"] <= first["high"]).all()


def test_an_unseen_accelerator_gets_the_physics_median_and_the_wider_conformal_margin(published_rows):
    thor = published_rows["system.accelerator.name"].str.contains("Thor")
    p = predictor.train(published_rows[~thor].reset_index(drop=True), predictor.Settings(max_iter=30, conformal_folds=2))
    assert p.conformal["unseen"] > p.conformal["seen"]  # new accelerators are harder
    out = p.predict_frame(published_rows[thor].head(1))
    known = p.predict_frame(published_rows[~thor].head(1))
    assert not bool(out["seen"].iloc[0]) and bool(known["seen"].iloc[0])
    assert np.log(out["high"].iloc[0] / out["low"].iloc[0]) >= 2 * p.conformal["unseen"] - 1e-9


def test_training_runs_single_threaded_even_before_sklearn_is_loaded():
    # threadpoolctl limits only the libraries already loaded: entering the limit before sklearn's
    # OpenMP runtime is loaded left training on every core (the bug: train() imported sklearn
    # inside the limit). Fresh interpreter, so nothing is loaded yet.
    code = ("from flexboard import predictor\n"
            "with predictor._single_thread():\n"
            "    from sklearn.ensemble import HistGradientBoostingRegressor\n"
            "    from threadpoolctl import threadpool_info\n"
            "    omp = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'openmp']\n"
            "print(omp)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"OMP_NUM_THREADS": "4", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1]", out.stdout


def test_a_broken_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "m.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(FlexBoardError, match="retrain"):
        predictor.load(bad)


def test_leave_accelerator_out_holds_out_every_variant_of_a_part(published_rows):
    folds, _ = evaluate.folds(published_rows, "leave-accelerator-out")
    h200 = next(f for f in folds if f.name == "h200-sxm-141gb")
    test_names = set(published_rows.iloc[h200.test]["system.accelerator.name"])
    train_names = set(published_rows.iloc[h200.train]["system.accelerator.name"])
    assert "NVIDIA H200-SXM-141GB-CTS" in test_names and not any("H200-SXM" in n for n in train_names)


def test_leave_round_out_tests_the_newest_round_on_whatever_the_dataset_holds(published_rows):
    folds, notes = evaluate.folds(published_rows, "leave-round-out")
    assert len(folds) == 1 and "trained on v4.1, tested on v5.0" in notes[0]
    assert set(published_rows.iloc[folds[0].test]["benchmark.version"]) == {"5.0"}
    # a third round (here v5.0's rows relabelled v5.1): train on both earlier ones, test on it
    rows = published_rows.copy()
    h200 = rows["system.accelerator.name"].str.contains("H200") & (rows["benchmark.version"] == "5.0")
    rows.loc[h200, "benchmark.version"] = "5.1"
    folds, notes = evaluate.folds(rows, "leave-round-out")
    assert set(rows.iloc[folds[0].train]["benchmark.version"]) == {"4.1", "5.0"}
    assert set(rows.iloc[folds[0].test]["benchmark.version"]) == {"5.1"} and len(folds[0].test) == h200.sum()
    assert "trained on v4.1, v5.0, tested on v5.1" in notes[0]
    with pytest.raises(FlexBoardError, match="holds one round"):
        evaluate.folds(rows[rows["benchmark.version"] == "5.0"].reset_index(drop=True), "leave-round-out")


def test_a_later_round_gets_the_round_drift_margin_from_a_pseudo_leave_round_out(published_rows):
    # two rounds in training (v4.1, v5.0): the band fitted on v4.1 scored on v5.0 gives the margin
    # for rows of a newer round (or of none: a configuration nobody measured)
    p = predictor.train(published_rows, predictor.Settings(max_iter=30, conformal_folds=2))
    assert p.newest_round == (5, 0) and p.conformal["round"] > p.conformal["seen"]
    assert "round_new_task" in p.conformal  # v5.0's llama3.1-405b was new to v4.1
    same = published_rows[published_rows["benchmark.version"] == "5.0"].head(40).reset_index(drop=True)
    later = same.assign(**{"benchmark.version": "5.1"})
    unknown = same.drop(columns=["benchmark.version"])
    a, b, c = p.predict_frame(same), p.predict_frame(later), p.predict_frame(unknown)
    assert np.allclose(a["predicted"], b["predicted"]) and np.allclose(b["high"], c["high"])
    wa, wb = np.log(a["high"] / a["low"]), np.log(b["high"] / b["low"])
    assert (wb >= wa - 1e-9).all() and (wb > wa + 1e-6).any()
    assert (wb >= 2 * p.conformal["round"] - 1e-9).all()
    v50 = published_rows[published_rows["benchmark.version"] == "5.0"].reset_index(drop=True)
    one_round = predictor.train(v50, predictor.Settings(max_iter=30, conformal_folds=2))
    assert "round" not in one_round.conformal  # one round: no drift to calibrate on


def test_a_held_out_accelerator_is_predicted_better_than_by_the_baseline(published_rows):
    rows = published_rows
    folds, _ = evaluate.folds(rows, "leave-accelerator-out")
    f = next(f for f in folds if f.name == "h100-nvl-94gb")
    tr, te = rows.iloc[f.train].reset_index(drop=True), rows.iloc[f.test].reset_index(drop=True)
    y = te[features.TARGET].to_numpy()
    ours = predictor.mape(y, predictor.train(tr, SMALL).predict_frame(te)["predicted"])
    base = predictor.mape(y, evaluate.baseline_fit_predict(tr, te))
    assert ours < base, (f.name, ours, base)


def test_the_random_split_tests_every_row_once(published_rows):
    folds, _ = evaluate.folds(published_rows, "random")
    assert len(folds) == evaluate.RANDOM_FOLDS
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(published_rows)))
    for f in folds:
        assert not set(f.train) & set(f.test) and len(f.train) + len(f.test) == len(published_rows)


def test_unknown_split_is_a_clear_error(published_rows):
    with pytest.raises(FlexBoardError, match="--split=sideways"):
        evaluate.folds(published_rows, "sideways")


def test_no_feature_follows_the_declared_weight_type(published_rows):
    # the label is inconsistent across rounds (v4.1 fp16 vs v5.0 fp8 for the same TensorRT
    # systems): features that followed it taught the model "fp8 is slow" from v4.1's vLLM rows
    row = published_rows[published_rows["model.weight_data_types"] == "fp16"].head(1)
    as_fp8 = row.assign(**{"model.weight_data_types": "fp8"})
    a, b = features.frame(row)[features.FEATURES], features.frame(as_fp8)[features.FEATURES]
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False)


def test_a_task_no_training_row_had_gets_the_typical_tasks_intercept_and_the_leave_one_task_out_margin(published_rows):
    # train without mixtral-8x7b: its rows are a task the model never saw. They are predicted as the
    # median per-task intercept plus the task-agnostic model of the system, never from the model-graph
    # numbers a tree would route to whichever training task they fall next to
    feats = features.frame(published_rows)
    mixtral = (feats["task"].astype(str) == "mixtral-8x7b").to_numpy()
    tr, te = published_rows[~mixtral].reset_index(drop=True), published_rows[mixtral].reset_index(drop=True)
    p = predictor.train(tr, predictor.Settings(max_iter=30, conformal_folds=2))
    assert "task_agnostic" in p.conformal and p.conformal["task_agnostic"] > p.conformal["unseen"]
    out = p.predict_frame(te)
    z = np.log(out["predicted"]) - out["log_bound"]
    a = p.task_intercept + p.models["task_effects"].predict(p._matrix(features.frame(te), features.AGNOSTIC).to_numpy())
    assert np.allclose(z, a)
    # the intercept is the median of the training tasks' (gptj, llama2-70b, llama3.1-405b): between them
    zt = np.log(tr[features.TARGET].to_numpy()) - np.array([features.reference_log_bound(r) for r in features.frame(tr).to_dict("records")])
    per_task = pd.Series(zt).groupby(features.frame(tr)["task"].astype(str).to_numpy()).median()
    assert per_task.min() < p.task_intercept < per_task.max()
    w = np.log(out["high"] / out["low"])
    assert (w >= 2 * p.conformal["task_agnostic"] - 1e-9).all()


def test_leaving_one_task_out_the_typical_task_beats_the_physics_trees(published_rows):
    # each of the published dataset's four tasks held out in turn: the physics trees route a task
    # they never saw by its model-graph numbers (GPT-J 13x too high, llama3.1-405b 8x); the typical
    # task's intercept misses by less on three of the four, and by far less on average
    task = features.frame(published_rows)["task"].astype(str).to_numpy()
    ours, trees = [], []
    for t in sorted(set(task)):
        tr, te = published_rows[task != t].reset_index(drop=True), published_rows[task == t].reset_index(drop=True)
        y = te[features.TARGET].to_numpy()
        for agnostic, out in ((True, ours), (False, trees)):
            p = predictor.train(tr, predictor.Settings(max_iter=30, conformal_folds=0, task_agnostic=agnostic))
            out.append(predictor.mape(y, p.predict_frame(te)["predicted"]))
    assert np.mean(ours) < np.mean(trees) / 2, (ours, trees)
    assert sum(a < b for a, b in zip(ours, trees)) >= 3, (ours, trees)


def test_the_task_agnostic_features_name_no_task():
    assert not set(features.AGNOSTIC) & features.TASK_SPECIFIC
    assert {"task", "params_active_b", "task_output_tokens", "tpot_limit_ms"} <= features.TASK_SPECIFIC
    assert {"scenario", "acc_bandwidth_gbs", "framework", "total_count"} <= set(features.AGNOSTIC)


def test_a_training_set_with_a_column_nobody_filled_trains(published_rows):
    # GPT-J has no Server latency limits in the task table: trained on its rows alone, the TPOT
    # limit column has no value at all, which the gradient boosting cannot bin (it raised)
    gptj = published_rows[features.frame(published_rows)["task"].astype(str).to_numpy() == "gptj"].reset_index(drop=True)
    p = predictor.train(gptj, predictor.Settings(max_iter=10, conformal_folds=2))
    out = p.predict_frame(gptj.head(5))
    assert np.isfinite(out["predicted"]).all() and (out["predicted"] > 0).all()


def test_without_calibration_a_new_tasks_interval_is_the_physics_band_not_a_point(published_rows):
    task = features.frame(published_rows)["task"].astype(str).to_numpy()
    tr, te = published_rows[task != "gptj"].reset_index(drop=True), published_rows[task == "gptj"].head(10).reset_index(drop=True)
    out = predictor.train(tr, predictor.Settings(max_iter=30, conformal_folds=0)).predict_frame(te)
    assert (out["high"] > out["low"]).all()
    assert ((out["low"] <= out["predicted"]) & (out["predicted"] <= out["high"])).all()


def test_a_configuration_nobody_measured_gets_its_accelerators_typical_host_and_software(small_predictor, published_rows):
    # predict,performance and recommend give accelerator, count, model and scenario only: no host
    # memory, CPU, framework or submitter. Read as missing, those made 8x H100 llama2-70b Offline
    # 832 tokens/s per GPU (measured: ~3,000); filled from the accelerator's typical measured row,
    # the prediction is that of a measured row
    feats = features.frame(published_rows)
    for name, key in (("NVIDIA H100-SXM-80GB", "h100-sxm-80gb"), ("NVIDIA B200-SXM-180GB", "b200-sxm-180gb"),
                      ("AMD Instinct MI300X 192GB HBM3", "mi300x-192gb")):
        cfg = {"model.name": "llama2-70b-99.9", "model.mlperf_name": "llama2-70b-99.9", "model.weight_data_types": "fp8",
               "system.accelerator.name": name, "system.accelerator.count_per_node": 8, "system.number_of_nodes": 1,
               "system.accelerator.total_count": 8, "submission.scenario": "Offline", "submission.division": "closed"}
        pred = float(small_predictor.predict_frame([cfg])["predicted"].iloc[0])
        m = ((feats["acc_key"].astype(str) == key) & (feats["task"].astype(str) == "llama2-70b")
             & (feats["scenario"].astype(str) == "Offline")).to_numpy()
        measured = float(np.median(published_rows[features.TARGET][m]))
        assert 0.7 < pred / measured < 1.4, (key, pred, measured)
    # a field the configuration gives is kept: the framework it names, not the accelerator's usual one
    ctx = small_predictor.contexts["acc:h100-sxm-80gb"]
    assert ctx["framework"] == "tensorrt" and ctx["host_memory_gb"] > 0
    given = small_predictor._with_context(features.frame([{**cfg, "software.framework": "vLLM 0.6"}]),
                                          [{**cfg, "software.framework": "vLLM 0.6"}])
    assert given.at[0, "framework"] == "vllm"


def test_a_configuration_in_a_dataframe_with_empty_cells_is_filled_as_the_same_one_in_a_list(small_predictor):
    # predict_frame takes a DataFrame as well as a list of dicts; a DataFrame built from configurations
    # of which only some name a framework or a submitter has NaN in the others' cells. Those are empty
    # fields, not a framework called "nan": the configuration is filled from its accelerator's typical
    # host, software and submitter as it is when it comes in a list (it was not: NaN read as "given")
    cfg = {"model.name": "llama2-70b-99", "model.mlperf_name": "llama2-70b-99", "model.weight_data_types": "fp8",
           "system.accelerator.name": "NVIDIA H100-SXM-80GB", "system.accelerator.count_per_node": 8,
           "system.number_of_nodes": 1, "system.accelerator.total_count": 8, "submission.scenario": "Offline",
           "submission.division": "closed"}
    measured = {**cfg, "software.framework": "vLLM 0.6", "submission.organization": "Someone", "system.cpu.vendor": "AMD"}
    as_list = small_predictor.predict_frame([cfg, measured])
    frame = pd.DataFrame([cfg, measured], index=[7, 3])
    assert frame["software.framework"].isna().iloc[0] and frame["submission.organization"].isna().iloc[0]
    as_frame = small_predictor.predict_frame(frame)
    assert np.allclose(as_frame["predicted"], as_list["predicted"]), (as_frame, as_list)
    assert np.allclose(as_frame["low"], as_list["low"]) and np.allclose(as_frame["high"], as_list["high"])
    filled = small_predictor._with_context(features.frame(frame), frame)
    ctx = small_predictor.contexts["acc:h100-sxm-80gb"]
    assert [filled.at[0, c] for c in ("framework", "organization", "cpu_vendor")] == \
        [ctx["framework"], ctx["organization"], ctx["cpu_vendor"]]
