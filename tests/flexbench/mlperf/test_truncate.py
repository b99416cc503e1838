"""The accuracy-log truncation, on a real LoadGen accuracy log (FlexBench, _noop backend, 100 samples)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from flexbench.mlperf.errors import SubmissionError
from flexbench.mlperf.rules import MAX_ACCURACY_LOG_BYTES
from flexbench.mlperf.truncate import MARKER, VIEWABLE_BYTES, recorded_hash, truncate_accuracy_dir
from tests.flexbench.mlperf.test_package import flexbench_run, write_orca


@pytest.fixture(scope="module")
def real_acc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("trunc")
    run = flexbench_run(base / "run", "_offline,_accuracy,_openorca", f"--dataset_path={write_orca(base / 'o.jsonl')}",
                        "--samples=100")
    return run / "accuracy"


@pytest.fixture
def acc(real_acc: Path, tmp_path: Path) -> Path:
    d = tmp_path / "accuracy"
    d.mkdir()
    for name in ("mlperf_log_accuracy.json", "accuracy.txt"):
        shutil.copy2(real_acc / name, d / name)
    return d


def _without_hash(txt: Path) -> None:
    txt.write_text("".join(ln for ln in txt.read_text().splitlines(keepends=True) if not ln.startswith("hash=")))


def test_cut_to_head_marker_tail_with_hash_of_the_full_log(acc, tmp_path):
    log = acc / "mlperf_log_accuracy.json"
    full = log.read_bytes()
    assert len(full) > MAX_ACCURACY_LOG_BYTES
    _without_hash(acc / "accuracy.txt")
    first_line = (acc / "accuracy.txt").read_text().splitlines()[0]
    t = truncate_accuracy_dir(acc, tmp_path / "backup" / "mlperf_log_accuracy.json")
    assert log.read_bytes() == full[:VIEWABLE_BYTES] + MARKER + full[-VIEWABLE_BYTES:]
    assert log.stat().st_size <= MAX_ACCURACY_LOG_BYTES and log.stat().st_mode == (acc / "accuracy.txt").stat().st_mode
    digest = hashlib.sha256(full).hexdigest()
    assert (acc / "accuracy.txt").read_text().splitlines() == [first_line, f"hash={digest}"]
    assert (tmp_path / "backup" / "mlperf_log_accuracy.json").read_bytes() == full
    assert (t.truncated, t.hash_appended, t.sha256, t.full_size) == (True, True, digest, len(full))


def test_flexbench_hash_line_is_kept_not_duplicated(acc):
    full = (acc / "mlperf_log_accuracy.json").read_bytes()
    before = (acc / "accuracy.txt").read_text()
    assert recorded_hash(acc / "accuracy.txt") == hashlib.sha256(full).hexdigest()  # FlexBench wrote it
    t = truncate_accuracy_dir(acc, None)
    assert t.truncated and not t.hash_appended and (acc / "accuracy.txt").read_text() == before


def test_stale_hash_is_an_error_and_nothing_changes(acc):
    txt = acc / "accuracy.txt"
    _without_hash(txt)
    txt.write_text(txt.read_text() + "hash=" + "0" * 64 + "\n")
    full = (acc / "mlperf_log_accuracy.json").read_bytes()
    with pytest.raises(SubmissionError, match="not the SHA-256"):
        truncate_accuracy_dir(acc, None)
    assert (acc / "mlperf_log_accuracy.json").read_bytes() == full


def test_small_log_with_hash_is_left_alone(acc):
    log = acc / "mlperf_log_accuracy.json"
    log.write_bytes(log.read_bytes()[:3000])  # under the limit, as the official tool tests
    before = log.read_bytes(), (acc / "accuracy.txt").read_text()
    t = truncate_accuracy_dir(acc, None)
    assert not t.truncated and t.backup is None and (log.read_bytes(), (acc / "accuracy.txt").read_text()) == before


def test_existing_backup_is_not_overwritten(acc, tmp_path):
    backup = tmp_path / "b.json"
    backup.write_text("earlier full log")
    with pytest.raises(SubmissionError, match="already exists"):
        truncate_accuracy_dir(acc, backup)
    assert backup.read_text() == "earlier full log"
    truncate_accuracy_dir(acc, backup, overwrite_backup=True)
    assert backup.stat().st_size > MAX_ACCURACY_LOG_BYTES


def test_missing_accuracy_txt_is_named(acc):
    (acc / "accuracy.txt").unlink()
    with pytest.raises(SubmissionError, match="accuracy.txt is missing"):
        truncate_accuracy_dir(acc, None)
