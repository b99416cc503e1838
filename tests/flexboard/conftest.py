"""Fixtures for the FlexBoard tests: the published dataset next to the checkout (../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_dir

PUBLISHED = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"


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
