"""Walk a v6.1 tree ``<division>/<submitter>/results/<system>/<benchmark>/<scenario>`` and
check every result; findings at submitter, system or benchmark level are attached to
each result below them (as MLPerf's checkers reject those results too)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from flexbench.mlperf import rules
from flexbench.mlperf.check import structure
from flexbench.mlperf.check.accuracy import check_accuracy
from flexbench.mlperf.check.context import ResultContext
from flexbench.mlperf.check.findings import Finding, Report, ResultReport
from flexbench.mlperf.check.performance import check_performance
from flexbench.mlperf.check.summary_csv import csv_row
from flexbench.mlperf.errors import TreeError


def _dirs(p: Path) -> list[Path]:
    return sorted(c for c in p.iterdir() if c.is_dir()) if p.is_dir() else []


def check_submission(root: Path | str, *, skip_dataset_size_check: bool = False) -> Report:
    root = Path(root).resolve()
    if not root.is_dir():
        raise TreeError(f"--input={root}: not a folder")
    results: list[ResultReport] = []
    divisions = [d for d in _dirs(root) if d.name in rules.DIVISIONS]
    if not divisions:
        raise TreeError(f"--input={root}: no division folder ({', '.join(rules.DIVISIONS)}) inside; "
                        "give the folder that contains closed/ or open/")
    for ddir in divisions:
        division = ddir.name
        for sdir in _dirs(ddir):
            submitter = sdir.name
            sub_findings = structure.submitter_findings(root, division, submitter)
            mapping: dict[str, Any] = {}
            if division == "open":
                data, problem = structure.load_json(sdir / rules.MODEL_MAPPING_FILE)
                if data is not None:
                    mapping = data
                elif problem != "missing":
                    sub_findings.append(Finding("structure.model_mapping", f"{division}/{submitter}/model_mapping.json",
                                                f"model_mapping.json {problem}", found=problem, required="a JSON object"))
            systems = _dirs(sdir / "results")
            if not systems:
                results.append(ResultReport(division, submitter, "", "", "", f"{division}/{submitter}",
                                            tuple(sub_findings) + (Finding(
                                                "structure.no_results", f"{division}/{submitter}/results",
                                                "no results", found="none", required="results/<system>/..."),)))
                continue
            for sysdir in systems:
                desc, problem = structure.load_json(sdir / "systems" / f"{sysdir.name}.json")
                sys_findings = structure.system_findings(root, division, submitter, sysdir.name, desc, problem)
                stype = (desc or {}).get("system_type", "")
                for bdir in _dirs(sysdir):
                    official = structure.mlperf_model(bdir.name, mapping)
                    scen_dirs = _dirs(bdir)
                    bench_findings = structure.benchmark_findings(root, division, submitter, sysdir.name, bdir.name,
                                                                  official, stype, [s.name for s in scen_dirs])
                    for scdir in scen_dirs:
                        ctx = ResultContext(root, division, submitter, sysdir.name, bdir.name, scdir.name, desc,
                                            rules.benchmark(official) if official else None,
                                            skip_dataset_size_check)
                        results.append(_check_result(ctx, sub_findings + sys_findings + [
                            f for f in bench_findings
                            if f.rule != "scenario.unknown" or f.path.endswith("/" + scdir.name)]))
    return Report(str(root), rules.ROUND, tuple(results), skip_dataset_size_check)


def _check_result(ctx: ResultContext, inherited: list[Finding]) -> ResultReport:
    findings = list(inherited)
    if not ctx.scenario:
        findings.append(Finding("scenario.unknown", ctx.rel(ctx.dir), "not a scenario name", found=ctx.scenario_dir,
                                required=" | ".join(rules.SCENARIOS)))
    findings += structure.measurement_findings(ctx)
    findings += structure.file_list_findings(ctx)
    perf = check_performance(ctx)
    findings += perf.findings
    acc = check_accuracy(ctx)
    findings += acc.findings
    findings += structure.compliance_findings(ctx)
    findings += structure.power_findings(ctx)
    report = ResultReport(ctx.division, ctx.submitter, ctx.system, ctx.benchmark_dir, ctx.scenario_dir,
                          ctx.rel(ctx.dir), tuple(findings), ctx.bench.name if ctx.bench else "", perf.metric,
                          acc.accuracy)
    if report.passed:
        return replace(report, csv_row=csv_row(ctx, perf.metric, acc.accuracy, perf.effective_scenario))
    return report
