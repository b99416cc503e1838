"""Rules about the tree itself: folders and files, system descriptions, benchmarks and
scenarios per system type, measurements. Semantics follow MLPerf's checkers
(``checks/system_check.py``, ``checks/measurements_checks.py``, ``loader.py`` and the
folder checks of ``submission_checker_old.py``); the code is our own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flexbench.mlperf import rules
from flexbench.mlperf.check.context import ResultContext
from flexbench.mlperf.check.findings import ERROR, WARNING, Finding
from flexbench.mlperf.errors import UnknownValueError


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(data, problem): problem says why the file is unusable."""
    if not path.is_file():
        return None, "missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    return data, None


def submitter_findings(root: Path, division: str, submitter: str) -> list[Finding]:
    """Folder hygiene of ``<division>/<submitter>`` (old checker: it rejects the whole submitter)."""
    base = root / division / submitter
    out: list[Finding] = []
    if not (base / "src").is_dir():
        out.append(Finding("structure.src", _rel(root, base / "src"), "the src folder is missing",
                           found="missing", required="a src/ folder with the code", source="both"))
    if division in ("closed", "network") and not (
            (base / "calibration.md").is_file() or (base / "documentation" / "calibration.md").is_file()):
        out.append(Finding("structure.calibration", _rel(root, base / "documentation" / "calibration.md"),
                           "closed division needs calibration.md (at the submitter root or in documentation/)",
                           found="missing", required="calibration.md", source="old"))
    for dirpath, dirnames, filenames in os.walk(base):
        d = Path(dirpath)
        names = [(d / n, n) for n in dirnames + filenames]
        if not dirnames and not filenames:
            out.append(Finding("structure.empty_dir", _rel(root, d), "empty folder", found="empty",
                               required="no empty folders", source="old"))
        for p, n in names:
            if n.startswith("."):
                out.append(Finding("structure.name", _rel(root, p), "a hidden (dot) name is not allowed",
                                   found=n, required="no name starting with '.'", source="old"))
            elif " " in n:
                out.append(Finding("structure.name", _rel(root, p), "spaces in names are not allowed",
                                   found=n, required="no spaces", source="old"))
            elif n == "__pycache__":
                out.append(Finding("structure.name", _rel(root, p), "__pycache__ folders are not allowed",
                                   found=n, required="no __pycache__", source="old"))
        for n in filenames:
            p = d / n
            try:
                size = p.stat().st_size
            except OSError:
                out.append(Finding("structure.broken_link", _rel(root, p), "broken symbolic link",
                                   found=os.readlink(p) if p.is_symlink() else "unreadable", required="a file",
                                   source="old"))
                continue
            if size > rules.FILE_SIZE_LIMIT_BYTES:
                out.append(Finding("structure.file_size", _rel(root, p), "file larger than 50 MiB",
                                   found=size, required=f"<= {rules.FILE_SIZE_LIMIT_BYTES} bytes", source="old"))
    systems = base / "systems"
    results = base / "results"
    if systems.is_dir() and results.is_dir():
        with_results = {p.name for p in results.iterdir() if p.is_dir()}
        for f in sorted(systems.glob("*.json")):
            if f.stem not in with_results:
                out.append(Finding("structure.system_without_results", _rel(root, f),
                                   "a system description with no results folder", found=f.stem,
                                   required=f"results/{f.stem}/", source="old"))
    return out


def system_findings(root: Path, division: str, submitter: str, system: str,
                    desc: dict[str, Any] | None, problem: str | None) -> list[Finding]:
    path = _rel(root, root / division / submitter / "systems" / f"{system}.json")
    if desc is None:
        return [Finding("system.missing", path, f"system description {problem}", found=problem,
                        required=f"systems/{system}.json")]
    out: list[Finding] = []
    status = str(desc.get("status", "")).lower()
    if status not in rules.STATUSES:
        out.append(Finding("system.status", path, "invalid status", found=desc.get("status"),
                           required=" | ".join(rules.STATUSES)))
    stype = desc.get("system_type")
    if stype not in rules.SYSTEM_TYPES and stype not in rules.SYSTEM_TYPE_ALIASES:
        out.append(Finding("system.system_type", path, "invalid system_type", found=stype,
                           required=" | ".join(rules.SYSTEM_TYPES)))
    is_network = str(desc.get("is_network", "false")).lower() == "true"
    required = list(rules.SYSTEM_DESC_REQUIRED_FIELDS)
    if is_network:
        required += rules.SYSTEM_DESC_NETWORK_FIELDS
    if division in ("closed", "network") and is_network != (division == "network"):
        out.append(Finding("system.network", path, f"is_network does not fit the {division} division",
                           found=is_network, required=division == "network"))
    for k in required:
        if k not in desc:
            out.append(Finding("system.field_missing", path, f"field {k} is missing", found="missing",
                               required=k))
        elif k in rules.SYSTEM_DESC_MEANINGFUL_FIELDS and not desc[k]:
            out.append(Finding("system.field_empty", path, f"field {k} needs a meaningful value",
                               found=desc[k], required=f"a non-empty {k}"))
    sub = desc.get("submitter")
    if not isinstance(sub, str) or sub.lower() != submitter.lower():
        out.append(Finding("system.submitter", path, "submitter differs from the folder", found=sub,
                           required=submitter))
    div = desc.get("division")
    if div != division:
        out.append(Finding("system.division", path, "division differs from the folder", found=div,
                           required=division))
    return out


def mlperf_model(name: str, model_mapping: dict[str, Any]) -> str | None:
    """The official benchmark a folder name stands for (model_mapping.json in open), or None."""
    try:
        return rules.canonical_benchmark_name(name)
    except UnknownValueError:
        pass
    mapped = model_mapping.get(name)
    if isinstance(mapped, str):
        try:
            return rules.canonical_benchmark_name(mapped)
        except UnknownValueError:
            return None
    return None


def benchmark_findings(root: Path, division: str, submitter: str, system: str, benchmark_dir: str,
                       official: str | None, system_type: Any, scenarios: list[str]) -> list[Finding]:
    """Is the benchmark allowed for the system type, and are its scenarios the required ones?"""
    path = _rel(root, root / division / submitter / "results" / system / benchmark_dir)
    closed = division in ("closed", "network")
    if official is None:
        how = "an official v6.1 benchmark name" + ("" if closed else " or a name mapped in model_mapping.json")
        return [Finding("benchmark.unknown", path, "not a v6.1 benchmark", found=benchmark_dir, required=how)]
    try:
        allowed = rules.benchmarks_for(str(system_type))
    except UnknownValueError:
        return []  # reported by system.system_type
    if official not in allowed:
        return [Finding("benchmark.system_type", path, f"{official} is not a benchmark of system_type {system_type}",
                        found=official, required=" | ".join(allowed))]
    if not closed:
        return []
    bench = rules.benchmark(official)
    required = set(bench.required_scenarios(str(system_type)))
    optional = set(bench.optional_scenarios(str(system_type)))
    have: set[str] = set()
    out: list[Finding] = []
    for s in scenarios:
        try:
            c = rules.canonical_scenario(s)
        except UnknownValueError:
            c = s
        have.add(c)
        if c not in required | optional:
            out.append(Finding("scenario.unknown", f"{path}/{s}", "neither a required nor an optional scenario",
                               found=s, required=" | ".join(sorted(required | optional))))
    missing = sorted(required - have)
    if missing:
        out.append(Finding("scenario.missing", path, "required scenarios are missing", found=sorted(have),
                           required=missing))
    if {"Server", "Interactive"} <= optional and not ({"Server", "Interactive"} & have):
        out.append(Finding("scenario.missing", path, "one of Server or Interactive is required",
                           found=sorted(have), required="Server or Interactive"))
    return out


def measurement_findings(ctx: ResultContext) -> list[Finding]:
    out: list[Finding] = []
    for name in rules.REQUIRED_MEASURE_FILES:
        p = ctx.dir / name
        if not p.is_file():
            out.append(Finding("files.missing", ctx.rel(p), f"{name} is missing", found="missing", required=name))
        elif p.stat().st_size == 0:
            out.append(Finding("files.empty", ctx.rel(p), f"{name} is empty", found="0 bytes",
                               required="a non-empty file"))
    mpath = ctx.dir / "measurements.json"
    data, problem = load_json(mpath)
    if data is None:
        out.append(Finding("files.missing" if problem == "missing" else "measurements.invalid", ctx.rel(mpath),
                           f"measurements.json {problem}", found=problem, required="measurements.json"))
        return out
    for k in rules.MEASUREMENTS_REQUIRED_FIELDS:
        if k not in data:
            out.append(Finding("measurements.field_missing", ctx.rel(mpath), f"field {k} is missing",
                               found="missing", required=k))
        elif not data[k]:
            out.append(Finding("measurements.field_empty", ctx.rel(mpath), f"field {k} needs a meaningful value",
                               found=data[k], required=f"a non-empty {k}"))
    return out


def _listing(d: Path) -> set[str]:
    return {p.name for p in d.iterdir() if p.is_file()} if d.is_dir() else set()


def file_list_findings(ctx: ResultContext) -> list[Finding]:
    """performance/run_1 and accuracy/ hold exactly the files the checker expects (old checker)."""
    out: list[Finding] = []
    ignorable = {"mlperf_log_trace.json", "results.json", ".gitkeep"}
    has_power = (ctx.dir / "performance" / "power").is_dir()
    perf_required = set(rules.REQUIRED_PERF_FILES) | (set(rules.REQUIRED_PERF_POWER_FILES) if has_power else set())
    for d, required, optional in (
        (ctx.perf_dir, perf_required, set(rules.OPTIONAL_PERF_FILES)),
        (ctx.acc_dir, set(rules.REQUIRED_ACC_FILES), set()),
    ):
        if not d.is_dir():
            out.append(Finding("files.missing", ctx.rel(d), "folder is missing", found="missing",
                               required=sorted(required)))
            continue
        have = _listing(d)
        for name in sorted(required - have):
            out.append(Finding("files.missing", ctx.rel(d / name), f"{name} is missing", found="missing",
                               required=name))
        extra = sorted(have - required - optional - ignorable)
        if extra:
            out.append(Finding("files.extra", ctx.rel(d), "unexpected files", found=extra,
                               required=sorted(required | optional), source="old"))
    return out


def compliance_findings(ctx: ResultContext) -> list[Finding]:
    """Closed division: the compliance test folders the benchmark needs exist (their content
    is verified by MLPerf's checkers, run with the ``_official`` variation)."""
    if not ctx.closed or ctx.bench is None:
        return []
    out: list[Finding] = []
    for test in ctx.bench.compliance_tests:
        d = ctx.dir / test
        if not d.is_dir():
            out.append(Finding("compliance.missing", ctx.rel(d), f"compliance test {test} is missing",
                               found="missing", required=f"{test}/"))
    return out


def power_findings(ctx: ResultContext) -> list[Finding]:
    pdir = ctx.dir / "performance" / "power"
    if not pdir.is_dir():
        return []
    have = _listing(pdir)
    return [Finding("power.files", ctx.rel(pdir / n), f"power file {n} is missing", found="missing", required=n)
            for n in rules.REQUIRED_POWER_FILES if n not in have]


__all__ = ["ERROR", "WARNING", "benchmark_findings", "compliance_findings", "file_list_findings", "load_json",
           "measurement_findings", "mlperf_model", "power_findings", "submitter_findings", "system_findings"]
