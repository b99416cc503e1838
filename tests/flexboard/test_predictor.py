from __future__ import annotations

import numpy as np
import pytest

from flexboard import evaluate, features, predictor
from flexboard.errors import FlexBoardError


def test_features_use_no_accelerator_name():
    assert not any("name" in f for f in features.FEATURES)


def test_roofline_features_follow_the_table():
    f = features.row_features({"model.name": "llama2-70b-99", "model.weight_data_types": "fp8",
                               "system.accelerator.name": "NVIDIA H100-SXM-80GB",
                               "system.accelerator.count_per_node": 8, "submission.scenario": "Offline"})
    # 1979 TFLOP/s fp8 dense / (2 x 68.98e9 FLOPs per token)
    assert np.exp(f["log_compute_bound"]) == pytest.approx(1979e12 / (2 * 68.98e9), rel=0.01)
    assert f["weights_gb_per_accel"] == pytest.approx(68.98 / 8, rel=0.01)


def test_predictions_are_within_their_interval_and_reload(published_rows, tmp_path):
    rows = published_rows
    p = predictor.train(rows, predictor.Settings(max_iter=40))
    path = tmp_path / "m.pkl"
    p.save(path)
    again = predictor.load(path).predict_frame(rows.head(50))
    first = p.predict_frame(rows.head(50))
    assert np.allclose(again["predicted"], first["predicted"])
    assert (first["low"] <= first["predicted"]).all() and (first["predicted"] <= first["high"]).all()


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


def test_leave_round_out_says_when_v51_is_missing(published_rows):
    folds, notes = evaluate.folds(published_rows, "leave-round-out")
    assert len(folds) == 1 and "v5.1 is not in the dataset" in notes[0]
    assert set(published_rows.iloc[folds[0].test]["benchmark.version"]) == {"5.0"}


def test_a_held_out_accelerator_is_predicted_better_than_by_the_baseline(published_rows):
    rows = published_rows
    folds, _ = evaluate.folds(rows, "leave-accelerator-out")
    for f in [f for f in folds if f.name in ("h100-nvl-94gb", "gh200-144gb")]:
        tr, te = rows.iloc[f.train].reset_index(drop=True), rows.iloc[f.test].reset_index(drop=True)
        y = te[features.TARGET].to_numpy()
        ours = predictor.mape(y, predictor.train(tr, predictor.Settings(max_iter=60)).predict_frame(te)["predicted"])
        base = predictor.mape(y, evaluate.baseline_fit_predict(tr, te))
        assert ours < base, (f.name, ours, base)


def test_unknown_split_is_a_clear_error(published_rows):
    with pytest.raises(FlexBoardError, match="--split=sideways"):
        evaluate.folds(published_rows, "sideways")
