"""Fixtures for the dataset tests: the shared data next to the checkout (../shared), found
from the repository root; a test that needs it skips with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    """``../shared`` next to the checkout; in a git worktree, next to its main checkout."""
    here = ROOT / ".." / "shared"
    if here.is_dir():
        return here
    dotgit = ROOT / ".git"
    if dotgit.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        text = dotgit.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            main = Path(text.split(":", 1)[1].strip()).resolve().parents[2]
            if (main / ".." / "shared").is_dir():
                return main / ".." / "shared"
    return here


SHARED = _shared()
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
