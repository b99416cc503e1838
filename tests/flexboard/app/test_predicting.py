"""The predictor behind the predict and recommend pages (flexboard.app.predicting)."""

from __future__ import annotations

import pytest

from flexboard.app import board, predicting
from flexboard.errors import FlexBoardError

pytest.importorskip("sklearn", reason="scikit-learn is in the flexboard extra (make install-test)")


def test_a_json_data_file_trains_on_the_rows_its_parquet_would_give(tmp_path):
    """run,flexboard --data=FILE.json shows the rows; the predict and recommend pages train on them too
    (they read the file as Parquet before, and failed with pyarrow's ArrowInvalid)."""
    import pandas as pd

    from flexboard import predictor as P
    from tests.flexboard.app.conftest import PUBLISHED

    if not PUBLISHED.is_file():
        pytest.skip(f"shared data not found: {PUBLISHED}")
    as_json = tmp_path / "data.json"
    as_json.write_text(pd.read_parquet(PUBLISHED).to_json(orient="records"))
    from_json = predicting.training_rows(board.Source(data_file=str(as_json)))
    from_parquet = predicting.training_rows(board.Source(data_file=str(PUBLISHED.resolve())))
    assert len(from_json) == len(from_parquet) == 847
    p = predicting.trained(board.Source(data_file=str(as_json)), P.Settings(max_iter=5, conformal_folds=0))
    got = predicting.predict(p, "llama2-70b-99", "h100-sxm-80gb")
    assert got.low <= got.per_accelerator <= got.high
    as_json.write_text("[]")
    with pytest.raises(FlexBoardError, match=rf"the dataset \({as_json}\) is empty"):
        predicting.training_rows(board.Source(data_file=str(as_json)))


def test_the_predict_pages_empty_framework_choice_says_what_the_predictor_does_with_it():
    """The predict page's empty framework choice was labelled "other / unknown"; the predictor fills an
    empty framework with the accelerator's usual one (TensorRT for H100: not "other"), so the label says so."""
    from flexboard import features
    from flexboard import predictor as P
    from flexboard.app.views import predict as view
    from flexboard.recipes import config_row
    from tests.flexboard.app.conftest import PUBLISHED

    if not PUBLISHED.is_file():
        pytest.skip(f"shared data not found: {PUBLISHED}")
    assert "" in view.FRAMEWORKS
    p = predicting.trained(board.Source(data_file=str(PUBLISHED.resolve())), P.Settings(max_iter=5, conformal_folds=0))
    cfg = config_row("llama2-70b-99", "h100-sxm-80gb", framework="")
    filled = p._with_context(features.frame([cfg]), [cfg]).at[0, "framework"]
    assert filled == p.contexts["acc:h100-sxm-80gb"]["framework"] != "other"
    label = view.framework_label("")
    assert "usual" in label and "other" not in label and "unknown" not in label
    assert view.framework_label("vllm") == "vllm"
