"""Fixtures for the dataset tests: the shared data next to the checkout (../shared), found
from the repository root; a test that needs it skips with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_dir

SHARED = shared_dir()
PUBLISHED = SHARED / "data" / "open-mlperf-dataset"
RESULTS = SHARED / "data" / "mlperf-results"
LOG_SAMPLES = RESULTS / "v4.1-log-samples"
OFFICIAL_CSV = RESULTS / "mlperf_inference_v4.1_results_from_logs.csv"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (the project's ../shared next to the checkout)")
    return path.resolve()


@pytest.fixture(scope="session")
def published_parquet() -> Path:
    return _need(PUBLISHED / "data.parquet")


@pytest.fixture(scope="session")
def published_json() -> Path:
    return _need(PUBLISHED / "data.json")


@pytest.fixture(scope="session")
def log_samples() -> Path:
    return _need(LOG_SAMPLES)


@pytest.fixture(scope="session")
def official_csv() -> Path:
    return _need(OFFICIAL_CSV)


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    return tmp_path / "dataset"
