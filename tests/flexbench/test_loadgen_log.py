"""The detail-log parser on real published LoadGen logs (MLPerf inference v4.1,
../shared/data/mlperf-results/v4.1-log-samples), cross-checked against the
human summary LoadGen wrote next to each log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flexbench.loadgen_log import LogError, parse_detail, summarize

from tests.conftest import shared_dir  # noqa: E402

SAMPLES = shared_dir() / "data" / "mlperf-results" / "v4.1-log-samples"
LOGS = sorted(SAMPLES.glob("*/*/*/*/mlperf_log_detail.txt"))


def summary_value(text: str, label: str) -> float | None:
    m = re.search(rf"^{re.escape(label)}\s*:\s*([0-9.]+)\s*$", text, re.M)
    return float(m.group(1)) if m else None


def test_samples_are_present():
    assert len(LOGS) >= 8, f"expected the shared v4.1 logs under {SAMPLES}"


@pytest.mark.parametrize("path", LOGS, ids=lambda p: "/".join(p.parts[-5:-1]))
def test_detail_agrees_with_summary(path: Path):
    s = summarize(parse_detail(path))
    text = (path.parent / "mlperf_log_summary.txt").read_text()
    assert s["scenario"] == re.search(r"^Scenario : (\w+)", text, re.M).group(1)
    assert s["validity"] == re.search(r"^Result is : (\w+)", text, re.M).group(1)
    for label, got in (("Samples per second", s["samples_per_second"]),
                       ("Completed samples per second", s["samples_per_second"]),
                       ("Tokens per second", s["tokens_per_second"]),
                       ("Completed tokens per second", s["tokens_per_second"])):
        want = summary_value(text, label)
        if want is not None:
            assert got == pytest.approx(want, rel=0.01), label
    mean = summary_value(text, "Mean latency (ns)")
    assert s["latency_ms"]["mean"] == pytest.approx(mean / 1e6)
    p99 = summary_value(text, "99.00 percentile latency (ns)")
    assert s["latency_ms"]["p99"] == pytest.approx(p99 / 1e6)
    ttft = summary_value(text, "Mean First Token latency (ns)")
    if ttft is not None:
        assert s["ttft_ms"]["mean"] == pytest.approx(ttft / 1e6)
    tpot = summary_value(text, "Mean Time to Output Token (ns)") or summary_value(text, "Mean Time per Output Token (ns)")
    if tpot is not None:
        assert s["tpot_ms"]["mean"] == pytest.approx(tpot / 1e6)
        assert s["tpot_ms"]["p99"] == pytest.approx(summary_value(text, "99.00 percentile time to output token (ns)") / 1e6)


def test_llm_server_log_figures():
    path = SAMPLES / "AMD/1xMI300X_2xEPYC-9374F/llama2-70b-99/Server/mlperf_log_detail.txt"
    s = summarize(parse_detail(path))
    assert s["valid"] and s["invalid_reasons"] == []
    assert s["tokens_per_second"] == pytest.approx(2520.27, rel=1e-3)
    assert s["ttft_ms"]["p99"] == pytest.approx(785.265884)
    assert s["seeds"]["qsl_rng_seed"] and s["loadgen_version"]


def test_not_a_log(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello\n")
    with pytest.raises(LogError):
        parse_detail(f)


def test_skip_keys_leaves_every_other_value_unchanged():
    assert LOGS, f"expected the shared v4.1 logs under {SAMPLES}"
    for detail in LOGS:
        full = parse_detail(detail)
        fast = parse_detail(detail, frozenset({"loaded_qsl_set", "loadgen_file_sha1"}))
        assert "loaded_qsl_set" in full.values and "loaded_qsl_set" not in fast.values
        assert {k: v for k, v in full.values.items() if k not in ("loaded_qsl_set", "loadgen_file_sha1")} == fast.values
