"""Figures from raw files: a LoadGen detail log (through ``flexbench.loadgen_log``), an
``accuracy.txt``, a system description, a power analyser's ``spl.txt``. Used by the
importers and again by the contribution merge, which re-derives every figure from the
files a bundle carries and compares."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Mapping

from flexbench.loadgen_log import DetailLog, summarize

# Columns that are figures (re-derived and compared when a contribution is merged).
FIGURE_PREFIXES = ("metrics.", "loadgen.", "power.", "accuracy.")
_PCT = {"p50": "p50", "p90": "p90", "p95": "p95", "p97": "p97", "p99": "p99", "p99.9": "p999",
        "min": "min", "mean": "mean", "max": "max"}


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def latency_columns(prefix: str, figures: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (figures or {}).items():
        col = _PCT.get(k)
        if col and _num(v) is not None:
            out[f"metrics.{prefix}.{col}"] = float(v)
    return out


def _iso(text: Any) -> str | None:
    if not text:
        return None
    s = str(text).strip()
    try:
        return datetime.datetime.strptime(s, "%m-%d-%Y %H:%M:%S.%f").isoformat(timespec="seconds")
    except ValueError:
        pass
    return s[:-1] if s.endswith("Z") else s


def window_seconds(values: Mapping[str, Any]) -> tuple[float, float] | None:
    from flexbench.power.window import parse_time

    b, e = values.get("power_begin"), values.get("power_end")
    if not b or not e:
        return None
    try:
        return parse_time(str(b)), parse_time(str(e))
    except ValueError:
        return None


def log_columns(log: DetailLog) -> dict[str, Any]:
    """Validity, throughput, latency/TTFT/TPOT percentiles and LoadGen settings of a run."""
    v = log.values
    s = summarize(log)
    target_ns = _num(v.get("effective_target_latency_ns"))
    win = window_seconds(v)
    row: dict[str, Any] = {
        "metrics.samples_per_second": _num(s["samples_per_second"]),
        "metrics.tokens_per_second": _num(s["tokens_per_second"]),
        "metrics.valid": s["valid"],
        "metrics.validity": s["validity"],
        "metrics.invalid_reasons": "; ".join(s["invalid_reasons"]),
        "metrics.min_duration_met": v.get("result_min_duration_met"),
        "metrics.min_queries_met": v.get("result_min_queries_met"),
        "metrics.perf_constraints_met": v.get("result_perf_constraints_met"),
        "metrics.early_stopping_met": v.get("early_stopping_met"),
        "metrics.early_stopping_result": " ".join(str(v.get(k) or "").strip() for k in
                                                  ("early_stopping_result", "early_stopping_ttft_result",
                                                   "early_stopping_tpot_result") if v.get(k)) or None,
        "loadgen.version": v.get("loadgen_version"),
        "loadgen.test_mode": v.get("effective_test_mode"),
        "loadgen.min_duration": _num(v.get("effective_min_duration_ms")),
        "loadgen.min_query_count": _int(v.get("effective_min_query_count")),
        "loadgen.query_count": _int(v.get("result_query_count")),
        "loadgen.samples_per_query": _int(v.get("effective_samples_per_query")),
        "loadgen.performance_sample_count": _int(v.get("effective_performance_sample_count")),
        "loadgen.target_qps": _num(v.get("effective_target_qps")),
        "loadgen.target_latency": target_ns / 1e6 if target_ns else None,
        "loadgen.duration": (win[1] - win[0]) if win else None,
        "loadgen.error_count": len(log.errors),
        "datetime": _iso(v.get("test_datetime")) or _iso(v.get("power_begin")),
    }
    for key in ("early_stopping_latency_ss", "early_stopping_latency_ms"):
        if _num(v.get(key)) is not None:
            row["metrics.early_stopping_latency"] = float(v[key]) / 1e6
    row.update(latency_columns("latency", s["latency_ms"]))
    row.update(latency_columns("ttft", s["ttft_ms"]))
    row.update(latency_columns("tpot", s["tpot_ms"]))
    for k in ("metrics.min_duration_met", "metrics.min_queries_met", "metrics.perf_constraints_met",
              "metrics.early_stopping_met"):
        if not isinstance(row[k], bool):
            row[k] = None
    return row


def power_columns(values: Mapping[str, Any], spl: Path | None, power_dir: Path | None, scenario: str,
                  samples_per_second: float | None, tokens_per_second: float | None) -> dict[str, Any]:
    """MLPerf's power figures from the analyser's ``spl.txt``: the mean of the readings inside
    LoadGen's power window (shifted by the client/server time zones the power client recorded)."""
    if spl is None or not spl.is_file():
        return {}
    from flexbench.power import PowerError
    from flexbench.power.ptdaemon import parse_spl
    from flexbench.power.samples import Sample, Series, Window, mean_in_window

    win = window_seconds(values)
    if win is None:
        return {}
    shift = _tz(power_dir, "server.json") - _tz(power_dir, "client.json")
    try:
        series = parse_spl(spl)
        series = Series(series.kind, tuple(Sample(x.t - shift, x.value) for x in series.samples), series.source)
        avg = mean_in_window(series, Window(win[0], win[1])).avg_w
    except (PowerError, ValueError, OSError):  # no readings in the window: no figure rather than a wrong one
        return {}
    row: dict[str, Any] = {"power.average": avg}
    if samples_per_second:
        row["power.energy_per_sample"] = avg / samples_per_second
    if tokens_per_second:
        row["power.energy_per_token"] = avg / tokens_per_second
    qc = _num(values.get("result_query_count"))
    if scenario in ("SingleStream", "MultiStream") and qc:
        row["power.energy_per_query"] = avg * (win[1] - win[0]) * 1000 / qc
    return row


def _tz(power_dir: Path | None, name: str) -> float:
    if power_dir is None:
        return 0.0
    try:
        return float(json.loads((power_dir / name).read_text(encoding="utf-8")).get("timezone") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """The figure columns of a row (what a contribution's logs must reproduce)."""
    return {k: v for k, v in row.items() if k.startswith(FIGURE_PREFIXES) and k != "metrics.accuracy"}
