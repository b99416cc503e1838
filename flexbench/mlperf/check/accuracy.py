"""Rules on the accuracy run: accuracy.txt (metrics and hash line), the truncated
accuracy log, LoadGen errors and dataset coverage (semantics of MLPerf's
``checks/accuracy_check.py`` and ``check_accuracy_dir`` of the old checker).

Division matters as it does for MLPerf: in closed/network a missed target or a missing
hash line is an error; in open they are warnings, but some accuracy metric must be there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flexbench.loadgen_log import LogError, parse_detail
from flexbench.mlperf import rules
from flexbench.mlperf.check.context import ResultContext
from flexbench.mlperf.check.findings import ERROR, WARNING, Finding

_HASH = re.compile(r"^hash=([\w\d]+)$")


@dataclass(frozen=True)
class AccOutcome:
    findings: tuple[Finding, ...]
    accuracy: dict[str, str]


def _read_metrics(text: str, patterns: dict[str, str]) -> tuple[dict[str, str], str | None]:
    found: dict[str, str] = {}
    hash_val = None
    for line in text.splitlines(keepends=True):
        for metric, pattern in patterns.items():
            m = re.match(pattern, line)
            if m and metric not in found:
                found[metric] = m.group(1)
        m = _HASH.match(line.rstrip("\n"))
        if m:
            hash_val = m.group(1)
    return found, hash_val


def check_accuracy(ctx: ResultContext) -> AccOutcome:
    bench = ctx.bench
    out: list[Finding] = []
    soft = WARNING if not ctx.closed else ERROR
    acc_txt = ctx.acc_dir / "accuracy.txt"
    accuracy: dict[str, str] = {}
    if not acc_txt.is_file():
        out.append(Finding("acc.accuracy_txt", ctx.rel(acc_txt), "accuracy.txt is missing", found="missing",
                           required="accuracy.txt"))
    elif bench is not None:
        targets = bench.targets_for(ctx.scenario) if ctx.scenario else bench.accuracy_targets
        names = [m for m, _ in targets] + [m for m, _ in bench.accuracy_upper_limits]
        patterns = {m: rules.ACCURACY_PATTERNS[m] for m in names}
        found, hash_val = _read_metrics(acc_txt.read_text(encoding="utf-8", errors="replace"), patterns)
        rel = ctx.rel(acc_txt)
        accuracy = {m: found[m] for m, _ in targets if m in found}
        for metric, target in targets:
            if metric not in found:
                out.append(Finding("acc.metric_missing", rel, f"{metric} not found in accuracy.txt",
                                   found="missing", required=metric,
                                   severity=ERROR if ctx.closed or not accuracy else WARNING))
            elif float(found[metric]) < target:
                out.append(Finding("acc.target", rel, f"{metric} below the target", found=float(found[metric]),
                                   required=f">= {target:g}", severity=soft))
        for metric, limit in bench.accuracy_upper_limits:
            if metric in found and float(found[metric]) > limit:
                out.append(Finding("acc.upper_limit", rel, f"{metric} above the upper limit",
                                   found=float(found[metric]), required=f"<= {limit:g}", severity=soft))
        if not hash_val:
            out.append(Finding("acc.hash", rel, "no hash= line for mlperf_log_accuracy.json", found="missing",
                               required="hash=<sha256 of the full accuracy log>", severity=soft))
    log_json = ctx.acc_dir / "mlperf_log_accuracy.json"
    if log_json.is_file():
        size = log_json.stat().st_size
        if size > rules.MAX_ACCURACY_LOG_BYTES:
            out.append(Finding("acc.log_size", ctx.rel(log_json), "accuracy log is not truncated", found=size,
                               required=f"<= {rules.MAX_ACCURACY_LOG_BYTES} bytes"))
    detail = ctx.acc_dir / "mlperf_log_detail.txt"
    if detail.is_file():
        try:
            log = parse_detail(detail)
        except (LogError, OSError) as exc:
            out.append(Finding("acc.log_unreadable", ctx.rel(detail), str(exc), found="unreadable",
                               required="a LoadGen detail log"))
        else:
            n_errors = log.get("num_errors")
            if log.errors or (isinstance(n_errors, (int, float)) and n_errors > 0):
                out.append(Finding("acc.loadgen_errors", ctx.rel(detail), "LoadGen logged errors",
                                   found=list(log.errors) or f"num_errors = {n_errors}", required="no errors"))
            if bench is not None and not ctx.skip_dataset_size_check:
                need = bench.accuracy_samples_for(ctx.scenario) if ctx.scenario else bench.accuracy_sample_count
                key = ("effective_accuracy_sample_count" if "effective_accuracy_sample_count" in log.values
                       else "qsl_reported_total_count")
                got = log.get(key)
                if got != need:
                    out.append(Finding("acc.dataset_size", ctx.rel(detail),
                                       f"accuracy run does not cover the dataset ({key})", found=got,
                                       required=need, source="new"))
    return AccOutcome(tuple(out), accuracy)
