"""Fixtures for the FlexBoard tests: the published dataset next to the checkout (../shared), and
one small predictor trained once per session (small settings keep the suite fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_dir

PUBLISHED = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """scikit-learn single-threaded in the tests (OpenMP threads thrash on a loaded 2-core box)."""
    try:
        import sklearn.ensemble  # noqa: F401 - load the OpenMP runtime before limiting it
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def published_parquet() -> Path:
    if not PUBLISHED.is_file():
        pytest.skip(f"shared data not found: {PUBLISHED} (the project's ../shared next to the checkout)")
    return PUBLISHED.resolve()


@pytest.fixture(scope="session")
def published_rows(published_parquet):
    pytest.importorskip("sklearn", reason="scikit-learn is in the flexboard extra (make install-test)")
    from flexboard import features

    return features.load_rows(data_file=published_parquet)


@pytest.fixture(scope="session")
def small_predictor(published_rows):
    """A predictor trained on every row with small settings (30 iterations, 2 conformal folds)."""
    from flexboard import predictor

    return predictor.train(published_rows, predictor.Settings(max_iter=30, conformal_folds=2))
