"""LoadGen's power_begin/power_end, read from real detail logs."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from flexbench.power import PowerError
from flexbench.power.window import parse_time, read_run
from tests.conftest import ROOT

# the project's shared data folder sits next to the checkout (../shared)
SAMPLES = ROOT.parent / "shared" / "data" / "mlperf-results" / "v4.1-log-samples"
AMD = SAMPLES / "AMD/1xMI300X_2xEPYC-9374F/llama2-70b-99/Server/mlperf_log_detail.txt"
NOOP = Path(__file__).parent / "data" / "noop_offline_detail.txt"


def test_markers_are_local_time_with_milliseconds():
    assert parse_time("11-23-2026 16:05:44.602") == datetime(2026, 11, 23, 16, 5, 44, 602000).timestamp()


def test_window_of_a_fresh_noop_run(tmp_path):
    # copied from a real `run,flexbench,_noop,_performance --samples=8` run (LoadGen 6.0.17)
    run = read_run(NOOP)
    assert run.begin_text == "11-23-2026 16:05:44.602" and run.end_text == "11-23-2026 16:05:44.603"
    assert run.window.duration == pytest.approx(0.001, abs=1e-6)
    assert run.scenario == "Offline" and run.samples_per_second == 53745 and run.tokens_per_second == 859920
    assert run.query_count == 1 and run.samples_per_query == 8
    # a FlexBench result folder (performance/ inside) is found too
    (tmp_path / "performance").mkdir()
    shutil.copy(NOOP, tmp_path / "performance" / "mlperf_log_detail.txt")
    assert read_run(tmp_path).window == run.window


@pytest.mark.skipif(not AMD.is_file(), reason=f"shared MLPerf log samples not in {SAMPLES} (../shared of the checkout)")
def test_window_of_a_published_v41_log():
    run = read_run(AMD)
    assert run.begin_text == "07-26-2024 13:06:09.366" and run.end_text == "07-26-2024 13:54:28.591"
    assert run.window.duration == pytest.approx(48 * 60 + 19.225)
    assert run.scenario == "Server"


def test_missing_markers_fail_naming_the_file(tmp_path):
    log = tmp_path / "mlperf_log_detail.txt"
    log.write_text("".join(l for l in NOOP.read_text().splitlines(True) if '"power_end"' not in l))
    with pytest.raises(PowerError, match=r"mlperf_log_detail.txt: LoadGen's power_end marker\(s\) are missing"):
        read_run(tmp_path)


def test_no_log_at_all(tmp_path):
    with pytest.raises(PowerError, match="no mlperf_log_detail.txt in"):
        read_run(tmp_path)
    (tmp_path / "mlperf_log_detail.txt").write_text("not a log\n")
    with pytest.raises(PowerError, match="no :::MLLOG records"):
        read_run(tmp_path)


def test_parse_time_reads_the_usual_shape_as_strptime_does():
    from datetime import datetime

    from flexbench.power.window import TIME_FORMAT, parse_time

    for text in ("11-23-2026 16:05:44.602", "01-02-2024 00:00:00.5", " 12-31-2025 23:59:59.123456 "):
        assert parse_time(text) == datetime.strptime(text.strip(), TIME_FORMAT).timestamp()
    for bad in ("2024-01-01 00:00:00.0", "13-01-2024 00:00:00.000", "02-30-2024 10:00:00.000", ""):
        with pytest.raises(ValueError):
            parse_time(bad)
