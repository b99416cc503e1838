"""Parse LoadGen's ``mlperf_log_detail.txt`` (``:::MLLOG {json}`` lines).

This is what MLPerf's checker reads too; it is more robust than regexes over
``mlperf_log_summary.txt``, whose wording changes between LoadGen releases
("Time to Output Token" became "Time per Output Token").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PREFIX = ":::MLLOG"
_PCT = re.compile(r"^result_(first_token_|time_(?:per|to)_output_token_)?(\d+\.\d+)_percentile(?:_latency)?_ns$")


class LogError(ValueError):
    """The file is not a LoadGen detail log."""


@dataclass(frozen=True)
class DetailLog:
    path: Path
    values: dict[str, Any]  # last value per key
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    times_ms: dict[str, float] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def parse_detail(path: Path | str, skip_keys: frozenset[str] | set[str] = frozenset()) -> DetailLog:
    """``skip_keys``: records not to decode (e.g. ``loaded_qsl_set``, a list of every sample index,
    most of a log's bytes); they are still counted as records."""
    path = Path(path)
    skip = tuple(f'{_PREFIX} {{"key": "{k}"' for k in skip_keys)
    values: dict[str, Any] = {}
    times: dict[str, float] = {}
    errors: list[str] = []
    warnings: list[str] = []
    seen = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.startswith(_PREFIX):
                continue
            if skip and line.startswith(skip):
                seen += 1
                continue
            try:
                rec = json.loads(line[len(_PREFIX):])
            except ValueError as exc:
                raise LogError(f"{path}:{lineno}: not a JSON record: {exc}") from exc
            seen += 1
            key = rec.get("key")
            values[key] = rec.get("value")
            if isinstance(rec.get("time_ms"), (int, float)):
                times[key] = float(rec["time_ms"])
            meta = rec.get("metadata") or {}
            if meta.get("is_error"):
                errors.append(f"{key}: {rec.get('value')}")
            elif meta.get("is_warning"):
                warnings.append(f"{key}: {rec.get('value')}")
    if not seen:
        raise LogError(f"{path}: no :::MLLOG records (is this mlperf_log_detail.txt?)")
    return DetailLog(path, values, tuple(errors), tuple(warnings), times)


def _ms(ns: Any) -> float | None:
    return None if ns is None else float(ns) / 1e6


def _percentiles(log: DetailLog, kind: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in log.values.items():
        m = _PCT.match(key)
        if not m or value is None:
            continue
        prefix = m.group(1) or ""
        k = "ttft" if prefix == "first_token_" else ("tpot" if prefix.startswith("time_") else "latency")
        if k == kind:
            out["p" + m.group(2).rstrip("0").rstrip(".")] = float(value) / 1e6
    return dict(sorted(out.items(), key=lambda kv: float(kv[0][1:])))


def _first(log: DetailLog, *keys: str) -> Any:
    for k in keys:
        if log.values.get(k) is not None:
            return log.values[k]
    return None


def summarize(log: DetailLog) -> dict[str, Any]:
    """The figures a result record needs; latencies in milliseconds."""
    v = log.values
    scenario = v.get("effective_scenario")
    validity = v.get("result_validity")
    reasons = []
    for key, text in (("result_min_duration_met", "min duration not met"),
                      ("result_min_queries_met", "min queries not met"),
                      ("result_perf_constraints_met", "performance constraints (latency/TTFT/TPOT) not met"),
                      ("early_stopping_met", "early stopping criteria not met")):
        if v.get(key) is False:
            reasons.append(text)
    for key in ("early_stopping_result", "early_stopping_ttft_result", "early_stopping_tpot_result"):
        text = (v.get(key) or "").strip()
        if text and "Run successful" not in text and validity != "VALID":
            reasons.append(text)
    samples_per_s = _first(log, "result_samples_per_second", "result_completed_samples_per_sec")
    tokens_per_s = _first(log, "result_tokens_per_second", "result_completed_tokens_per_second",
                          "result_inferred_tokens_per_second", "result_token_throughput")
    latency = {"min": _ms(v.get("result_min_latency_ns")), "mean": _ms(v.get("result_mean_latency_ns")),
               "max": _ms(v.get("result_max_latency_ns")), **_percentiles(log, "latency")}
    ttft = {"min": _ms(v.get("result_first_token_min_latency_ns")),
            "mean": _ms(v.get("result_first_token_mean_latency_ns")),
            "max": _ms(v.get("result_first_token_max_latency_ns")), **_percentiles(log, "ttft")}
    tpot = {
        "min": _ms(_first(log, "result_time_per_output_token_min", "result_time_to_output_token_min")),
        "mean": _ms(_first(log, "result_time_per_output_token_mean", "result_time_to_output_token_mean")),
        "max": _ms(_first(log, "result_time_per_output_token_max", "result_time_to_output_token_max")),
        **_percentiles(log, "tpot"),
    }
    return {
        "scenario": scenario,
        "mode": v.get("effective_test_mode"),
        "valid": (validity == "VALID") if validity else None,  # AccuracyOnly runs log no verdict
        "validity": validity,
        "invalid_reasons": [] if validity == "VALID" else reasons,
        "samples_per_second": samples_per_s,
        "tokens_per_second": tokens_per_s,
        "query_count": v.get("result_query_count"),
        "latency_ms": {k: x for k, x in latency.items() if x is not None},
        "ttft_ms": {k: x for k, x in ttft.items() if x is not None},
        "tpot_ms": {k: x for k, x in tpot.items() if x is not None},
        "settings": {
            "min_duration_ms": v.get("effective_min_duration_ms"),
            "min_query_count": v.get("effective_min_query_count"),
            "performance_sample_count": v.get("effective_performance_sample_count"),
            "target_qps": v.get("effective_target_qps"),
            "target_latency_ns": v.get("effective_target_latency_ns"),
            "use_token_latencies": v.get("requested_use_token_latencies"),
            "samples_per_query": v.get("effective_samples_per_query"),
        },
        "seeds": {
            "qsl_rng_seed": v.get("effective_qsl_rng_seed"),
            "sample_index_rng_seed": v.get("effective_sample_index_rng_seed"),
            "schedule_rng_seed": v.get("effective_schedule_rng_seed"),
        },
        "power_window": [v.get("power_begin"), v.get("power_end")],
        "loadgen_version": v.get("loadgen_version"),
        "error_count": len(log.errors),
        "warning_count": len(log.warnings),
        "errors": list(log.errors[:20]),
    }
