"""Rules on the performance run's LoadGen detail log (semantics of MLPerf's
``checks/performance_check.py`` and ``check_performance_dir`` of the old checker)."""

from __future__ import annotations

from dataclasses import dataclass

from flexbench.loadgen_log import DetailLog, LogError, parse_detail
from flexbench.mlperf import rules
from flexbench.mlperf.check.context import ResultContext
from flexbench.mlperf.check.findings import Finding

_EARLY_STOPPING = ("Server", "SingleStream", "MultiStream")
# Old checker: these benchmarks need sample_concatenate_permutation ("equal issue") in every division.
_EQUAL_ISSUE = frozenset({"3d-unet-99", "3d-unet-99.9", "llama2-70b-99.9", "llama3.1-8b", "llama3.1-8b-edge",
                          "deepseek-r1", "rgat", "whisper"})
_INFERABLE = {("SingleStream", "MultiStream"), ("MultiStream", "Offline"), ("SingleStream", "Offline")}


@dataclass(frozen=True)
class PerfOutcome:
    findings: tuple[Finding, ...]
    metric: float | None
    effective_scenario: str
    log: DetailLog | None


def _num(v: object) -> float | None:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def check_performance(ctx: ResultContext) -> PerfOutcome:
    path = ctx.perf_dir / "mlperf_log_detail.txt"
    rel = ctx.rel(path)
    if not path.is_file():
        return PerfOutcome((Finding("perf.log_missing", rel, "performance detail log is missing", found="missing",
                                    required="performance/run_1/mlperf_log_detail.txt"),), None, "", None)
    try:
        log = parse_detail(path)
    except (LogError, OSError) as exc:
        return PerfOutcome((Finding("perf.log_unreadable", rel, str(exc), found="unreadable",
                                    required="a LoadGen detail log"),), None, "", None)
    out: list[Finding] = []
    bench = ctx.bench
    eff = str(log.get("effective_scenario") or "")
    fixed = ctx.scenario

    if log.errors or (_num(log.get("num_errors")) or 0) > 0:
        out.append(Finding("perf.loadgen_errors", rel, "LoadGen logged errors",
                           found=list(log.errors) or f"num_errors = {log.get('num_errors')}", required="no errors"))
    if log.get("result_validity") != "VALID":
        out.append(Finding("perf.result_invalid", rel, "LoadGen did not report a VALID result",
                           found=log.get("result_validity"), required="VALID", source="old"))
    for key, want in rules.SEEDS.items():
        got = log.get(f"effective_{key}")
        if got != want:
            out.append(Finding("perf.seeds", rel, f"{key} is not the round's", found=got, required=want))
    dur = _num(log.get("effective_min_duration_ms"))
    if bench is not None and bench.name not in ("e2e-rag-qna", "e2e-rag-db") and (dur is None or dur < rules.MIN_DURATION_MS):
        out.append(Finding("perf.min_duration", rel, "min_duration below 600 s", found=log.get("effective_min_duration_ms"),
                           required=f">= {rules.MIN_DURATION_MS} ms"))
    if bench is not None:
        psc = _num(log.get("effective_performance_sample_count"))
        if psc is None or psc < bench.performance_sample_count:
            out.append(Finding("perf.performance_sample_count", rel, "performance_sample_count too small",
                               found=log.get("effective_performance_sample_count"),
                               required=f">= {bench.performance_sample_count}"))
        if eff not in _EARLY_STOPPING:
            need = bench.min_queries.get(eff)
            mqc = _num(log.get("effective_min_query_count"))
            if need and (mqc is None or mqc < need):
                out.append(Finding("perf.min_query_count", rel, "min_query_count too small",
                                   found=log.get("effective_min_query_count"), required=f">= {need}"))
        if eff == "Offline":
            spq = _num(log.get("effective_samples_per_query"))
            if spq is None or spq < bench.offline_min_samples_per_query:
                out.append(Finding("perf.offline_samples_per_query", rel, "Offline query has too few samples",
                                   found=log.get("effective_samples_per_query"),
                                   required=f">= {bench.offline_min_samples_per_query}",
                                   source="old" if not ctx.closed else "both"))
        if bench.name in _EQUAL_ISSUE and log.get("effective_sample_concatenate_permutation") is not True:
            out.append(Finding("perf.equal_issue", rel, "needs equal-issue mode (sample_concatenate_permutation)",
                               found=log.get("effective_sample_concatenate_permutation"), required=True,
                               source="old"))
    if eff in _EARLY_STOPPING:
        if not log.get("early_stopping_met"):
            out.append(Finding("perf.early_stopping", rel, "early stopping condition not met",
                               found=log.get("early_stopping_result") or log.get("early_stopping_met"),
                               required="early_stopping_met = true", source="new"))
        limit = bench.latency_constraint_ns.get(eff) if bench else None
        got = _num(log.get("effective_target_latency_ns"))
        if limit and (got is None or got > limit):
            out.append(Finding("perf.latency", rel, "target latency above the benchmark's constraint",
                               found=log.get("effective_target_latency_ns"), required=f"<= {limit} ns"))
    elif bench is not None:
        limit = bench.latency_constraint_ns.get(fixed or eff)
        p99 = _num(log.get("result_99.00_percentile_latency_ns"))
        if limit and p99 is not None and p99 > limit:
            out.append(Finding("perf.latency", rel, "99th percentile latency above the constraint", found=p99,
                               required=f"<= {limit} ns", source="new"))
    if bench is not None and bench.is_llm:
        if not log.get("requested_use_token_latencies"):
            out.append(Finding("perf.token_latencies", rel, "LLM benchmarks need use_token_latencies",
                               found=log.get("requested_use_token_latencies"), required=True))
        elif eff in ("Server", "Interactive"):
            scen = fixed if fixed in ("Server", "Interactive") else eff
            limits = bench.llm_latency_limits.get(scen)
            ttft = _num(log.get("result_first_token_99.00_percentile_latency_ns"))
            tpot = _num(log.get("result_time_per_output_token_99.00_percentile_ns"))
            if limits is None:
                out.append(Finding("perf.ttft_tpot", rel, f"{bench.name} has no TTFT/TPOT limits for {scen}",
                                   found=scen, required=" | ".join(bench.llm_latency_limits)))
            else:
                if ttft is None or ttft >= limits[0]:
                    out.append(Finding("perf.ttft", rel, "99th percentile time to first token over the limit",
                                       found=ttft, required=f"< {limits[0]} ns"))
                if tpot is None or tpot >= limits[1]:
                    out.append(Finding("perf.tpot", rel, "99th percentile time per output token over the limit",
                                       found=tpot, required=f"< {limits[1]} ns"))
    if fixed and eff and eff != fixed and (eff, fixed) != ("Server", "Interactive"):
        stype = str((ctx.system_json or {}).get("system_type", ""))
        if "edge" not in stype.lower() or (eff, fixed) not in _INFERABLE:
            out.append(Finding("perf.scenario", rel, f"a {fixed} result cannot come from a {eff} run here",
                               found=eff, required=fixed))
    metric = None
    if bench is not None and eff in rules.RESULT_FIELD:
        metric = _num(log.get(bench.result_field(eff)))
        if metric is not None and eff in ("SingleStream", "MultiStream"):
            metric /= 1e6
            if bench.name == "wan-2.2-t2v-a14b":
                metric /= 1000
    return PerfOutcome(tuple(out), metric, eff, log)
