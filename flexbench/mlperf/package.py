"""Build an MLPerf inference v6.1 submission tree from FlexBench (or plain LoadGen) results.

::

    <out>/<division>/<submitter>/
      src/README.md                              the cmx/FlexBench version (the code is not copied)
      systems/<system>.json                      the system description (templates/system.json.j2)
      model_mapping.json                         open division: {"<model folder>": "<benchmark>"}
      results/<system>/<model>/<scenario>/
        measurements.json  user.conf  README.md  cmx-lock.json
        performance/run_1/{mlperf_log_summary.txt, mlperf_log_detail.txt[, spl.txt]}
        performance/{power,ranging}/             when the run collected power with PTDaemon
        accuracy/{accuracy.txt, mlperf_log_accuracy.json, mlperf_log_summary.txt, mlperf_log_detail.txt}

``<model>`` is the benchmark name in the closed division. In the open division it is the
run's own model (``SmolLM2-135M-Instruct``), and ``model_mapping.json`` maps it to the
benchmark: the checker looks the folder name up in that file (``get_mlperf_model``).

The tree is built in a temporary folder next to ``<out>`` and renamed into place, so a
failure leaves nothing half-written. Full accuracy logs go to ``backup_dir`` (outside the
tree), in the same layout as MLPerf's ``truncate_accuracy_log.py --backup``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from flexbench.loadgen_log import parse_detail, summarize
from flexbench.mlperf import provenance, system
from flexbench.mlperf.errors import SubmissionError, UnknownValueError
from flexbench.mlperf.inputs import ACCURACY, PERFORMANCE, Part, discover
from flexbench.mlperf.render import render, render_json
from flexbench.mlperf.rules import (BENCHMARKS, FILE_SIZE_LIMIT_BYTES, MEASUREMENTS_REQUIRED_FIELDS,
                                    MIN_DURATION_MS, MODEL_MAPPING_FILE, REQUIRED_ACC_FILES, REQUIRED_PERF_FILES,
                                    REQUIRED_PERF_POWER_FILES, REQUIRED_POWER_FILES, ROUND, benchmark,
                                    benchmarks_for, check_division)
from flexbench.mlperf.truncate import Truncation, truncate_accuracy_dir

DEFAULT_DIVISION = "open"
DEFAULT_BENCHMARK = {"datacenter": "llama3.1-8b", "edge": "llama3.1-8b-edge", "datacenter,edge": "llama3.1-8b"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Request:
    results: tuple[Path, ...]
    out_dir: Path
    submitter: str
    division: str = DEFAULT_DIVISION
    status: str | None = None  # default: the description's, else available
    system_type: str | None = None  # default: the description's, else datacenter
    benchmark: str | None = None  # default: llama3.1-8b (datacenter) / llama3.1-8b-edge (edge)
    system_name: str | None = None
    system_id: str | None = None  # the <system> folder and file name
    model_name: str | None = None  # the <model> folder in the open division
    system_overrides: Path | None = None
    measurements_overrides: Path | None = None
    backup_dir: Path | None = None  # default: <out>-accuracy-backup
    force: bool = False
    detected_system: Mapping[str, Any] | None = None  # get,system-description, for results that carry none


@dataclass(frozen=True)
class ScenarioOut:
    model: str
    scenario: str
    path: Path
    modes: tuple[str, ...]
    truncation: Truncation | None


@dataclass(frozen=True)
class Report:
    root: Path
    submitter_dir: Path
    division: str
    submitter: str
    system_id: str
    benchmark: str
    model_mapping: Mapping[str, str]
    scenarios: tuple[ScenarioOut, ...]
    backup_dir: Path
    na_fields: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


def slug(text: str) -> str:
    return _SAFE.sub("_", text).strip("._-")


def _folder_name(value: str, flag: str) -> str:
    if not value or value in (".", "..") or _SAFE.search(value):
        raise SubmissionError(f"--{flag}={value!r} must be a plain folder name (letters, digits, '.', '_', '-')")
    return value


def _default_system_id(desc: Mapping[str, str]) -> str:
    if desc.get("system_name", system.NA) != system.NA and slug(desc["system_name"]):
        return slug(desc["system_name"])
    name = "cmx-flexbench-" + (slug(desc.get("host_processor_model_name", "")) or "cpu")
    accels = desc.get("accelerators_per_node", "0")
    if accels not in ("0", system.NA) and desc.get("accelerator_model_name", system.NA) != system.NA:
        name += f"-{accels}x{slug(desc['accelerator_model_name'])}"
    return name


def _model_folder(part: Part, req: Request, bench: str, division: str) -> str:
    if division != "open":
        return bench
    if req.model_name:
        return req.model_name
    model_id = part.model_id
    return slug(model_id.rstrip("/").split("/")[-1]) if model_id else bench


def _group(parts: Sequence[Part], req: Request, bench: str, division: str) -> dict[tuple[str, str], dict[str, Part]]:
    groups: dict[tuple[str, str], dict[str, Part]] = {}
    for part in parts:
        key = (_model_folder(part, req, bench, division), part.scenario)
        slot = groups.setdefault(key, {})
        if part.mode in slot:
            raise SubmissionError(f"two {part.mode} results for {key[0]}/{key[1]}: {slot[part.mode].log_dir} and "
                                  f"{part.log_dir}; give one result folder per scenario and mode")
        slot[part.mode] = part
    return groups


def _detected(parts: Sequence[Part], req: Request) -> Mapping[str, Any]:
    for part in sorted(parts, key=lambda p: p.mode != PERFORMANCE):
        desc = ((part.result or {}).get("provenance") or {}).get("system_description")
        if isinstance(desc, dict) and desc:
            return desc
    return req.detected_system or {}


def _copy_files(src: Path, dst: Path, names: Sequence[str]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(src / name, dst / name)


def _copy_known(src: Path | None, dst: Path, names: Sequence[str]) -> list[str]:
    """Copy the files the checker expects from ``src`` (nothing else: it rejects extra files there).

    Returns the expected names that ``src`` lacks. Nothing is created when none exists,
    because the checker also rejects empty folders."""
    if src is None:
        return []
    present = [n for n in names if (src / n).is_file()]
    if present:
        _copy_files(src, dst, present)
    return [n for n in names if n not in present]


def _run_row(part: Part) -> dict[str, Any]:
    log = parse_detail(part.log_dir / "mlperf_log_detail.txt")
    s = summarize(log)
    return {"mode": part.mode, "source": str(part.source), "validity": s["validity"],
            "invalid_reasons": s["invalid_reasons"], "samples_per_second": s["samples_per_second"],
            "tokens_per_second": s["tokens_per_second"], "min_duration_ms": s["settings"]["min_duration_ms"],
            "query_count": s["query_count"], "loadgen_version": log.get("loadgen_version")}


def _power_context(part: Part | None) -> dict[str, Any] | None:
    if part is None or part.power is None or part.power.summary is None:
        return None
    try:
        data = json.loads(part.power.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SubmissionError(f"{part.power.summary}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SubmissionError(f"{part.power.summary}: expected a JSON object")
    fields = [(k, v) for k, v in data.items()
              if k != "schema" and isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return {"estimate": bool(data.get("estimate")), "fields": fields,
            "has_ptd": bool(part.power.power_dir or part.power.ranging_dir)}


class _Builder:
    """Writes one submitter folder into a staging directory."""

    def __init__(self, req: Request, stage: Path, division: str, submitter: str, sys_id: str, bench: str) -> None:
        self.req, self.stage = req, stage
        self.division, self.submitter, self.sys_id, self.bench = division, submitter, sys_id, bench
        self.tree = stage / "tree"
        self.sub = self.tree / division / submitter
        self.backup = stage / "backup"
        self.warnings: list[str] = []

    def scenario(self, model: str, scenario: str, modes: Mapping[str, Part],
                 measurements_overrides: Mapping[str, str]) -> ScenarioOut:
        rel = Path(self.division, self.submitter, "results", self.sys_id, model, scenario)
        out = self.tree / rel
        perf, acc = modes.get(PERFORMANCE), modes.get(ACCURACY)
        for mode, part in ((PERFORMANCE, perf), (ACCURACY, acc)):
            if part is None:
                self.warnings.append(f"{model}/{scenario} has no {mode} run; the checker requires one")
        truncation = None
        if perf is not None:
            run = out / PERFORMANCE / "run_1"
            _copy_files(perf.log_dir, run, REQUIRED_PERF_FILES)
            if perf.power is not None:
                if perf.power.spl is not None:
                    shutil.copy2(perf.power.spl, run / "spl.txt")
                for sub, names in (("power", REQUIRED_POWER_FILES),
                                   ("ranging", REQUIRED_PERF_FILES + REQUIRED_PERF_POWER_FILES)):
                    src = perf.power.power_dir if sub == "power" else perf.power.ranging_dir
                    missing = _copy_known(src, out / PERFORMANCE / sub, names)
                    if missing and src is not None:
                        self.warnings.append(f"{src} lacks {', '.join(missing)}; the checker requires them")
                for pattern in ("analyzer_table.*", "power_settings.*"):
                    for f in sorted(perf.source.glob(pattern)):
                        shutil.copy2(f, out / f.name)
        if acc is not None:
            _copy_files(acc.log_dir, out / ACCURACY, REQUIRED_ACC_FILES)
            truncation = truncate_accuracy_dir(out / ACCURACY,
                                               self.backup / rel / ACCURACY / "mlperf_log_accuracy.json")
        conf = next((p.user_conf for p in (perf, acc) if p is not None and p.user_conf is not None), None)
        if conf is None:
            src = (perf or acc).source  # type: ignore[union-attr]
            raise SubmissionError(f"no user.conf in {src}: the checker requires the LoadGen user.conf of the run")
        shutil.copy2(conf, out / "user.conf")
        main = perf or acc
        assert main is not None
        m = provenance.measurements(main.result)
        m.update(measurements_overrides)
        (out / "measurements.json").write_text(json.dumps(render_json("measurements.json.j2", m=m), indent=2) + "\n",
                                               encoding="utf-8")
        commands: list[dict[str, str]] = []
        written: list[tuple[Mapping[str, Any], dict[str, str]]] = []
        for mode, part in ((PERFORMANCE, perf), (ACCURACY, acc)):
            lock = provenance.lock_of(part.result) if part is not None else None
            if part is None or part.result is None or lock is None:
                continue
            entry = next((e for r, e in written if r is part.result), None)
            if entry is not None:  # both modes from one FlexBench run: one lockfile, one command
                entry["mode"] += f" and {mode}"
                continue
            name = provenance.LOCK_NAME if not written else f"cmx-lock-{mode}.json"
            (out / name).write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            entry = {"mode": mode, "command": provenance.reproduce_command(lock, name)
                     or f"(the lockfile {name} has no root node)"}
            written.append((part.result, entry))
            commands.append(entry)
        self._readme(out, model, scenario, perf, acc, main, commands)
        for f in sorted(out.rglob("*")):
            if f.is_file() and f.stat().st_size > FILE_SIZE_LIMIT_BYTES:
                self.warnings.append(f"{f.relative_to(self.tree)} is {f.stat().st_size} bytes; the checker rejects "
                                     f"files over {FILE_SIZE_LIMIT_BYTES // (1024 * 1024)} MiB")
        return ScenarioOut(model, scenario, out, tuple(k for k in (PERFORMANCE, ACCURACY) if k in modes), truncation)

    def _readme(self, out: Path, model: str, scenario: str, perf: Part | None, acc: Part | None, main: Part,
                commands: list[dict[str, str]]) -> None:
        runs = [_run_row(p) for p in (perf, acc) if p is not None]
        perf_row = next((r for r in runs if r["mode"] == PERFORMANCE), None)
        short = None
        if perf_row and (perf_row["min_duration_ms"] or 0) < MIN_DURATION_MS:
            short = perf_row["min_duration_ms"]
        accuracy_line = None
        if acc is not None:
            lines = (out / ACCURACY / "accuracy.txt").read_text(encoding="utf-8", errors="replace").splitlines()
            accuracy_line = next((ln for ln in lines if ln.strip() and not ln.startswith("hash=")), None)
        argv = ["cmx", "run", "script", "--tags=generate,mlperf,submission",
                "--results=" + ",".join(str(Path(r).absolute()) for r in self.req.results),
                f"--division={self.division}", f"--submitter={self.submitter}", f"--benchmark={self.bench}"]
        text = render("README.md.j2", model=model, benchmark=self.bench, scenario=scenario, division=self.division,
                      submitter=self.submitter, system_id=self.sys_id, round=ROUND, model_id=main.model_id,
                      loadgen_version=runs[0]["loadgen_version"] if runs else None,
                      backend=str(((main.result or {}).get("config") or {}).get("backend") or ""),
                      runs=runs, short=short, min_duration_ms=MIN_DURATION_MS, accuracy_line=accuracy_line,
                      power=_power_context(perf), commands=commands, package_command=shlex.join(argv))
        (out / "README.md").write_text(text, encoding="utf-8")

    def common(self, desc: Mapping[str, str], mapping: Mapping[str, str], loadgen_versions: list[str]) -> Path:
        systems = self.sub / "systems"
        systems.mkdir(parents=True, exist_ok=True)
        sys_file = systems / f"{self.sys_id}.json"
        sys_file.write_text(system.render_system(desc), encoding="utf-8")
        (self.sub / "src").mkdir(parents=True, exist_ok=True)
        (self.sub / "src" / "README.md").write_text(
            render("src_README.md.j2", division=self.division, submitter=self.submitter,
                   code=provenance.code_version(), loadgen_versions=loadgen_versions), encoding="utf-8")
        if mapping:
            (self.sub / MODEL_MAPPING_FILE).write_text(json.dumps(dict(mapping), indent=2) + "\n", encoding="utf-8")
        return sys_file


def _publish(stage: Path, out: Path, backup_dir: Path, force: bool) -> None:
    staged_backups = sorted(p for p in (stage / "backup").rglob("*") if p.is_file())
    targets = [(p, backup_dir / p.relative_to(stage / "backup")) for p in staged_backups]
    clash = [str(t) for _, t in targets if t.exists()]
    if clash and not force:
        raise SubmissionError(f"backup {clash[0]} already exists; pass --force to replace it or choose --backup_dir")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
    try:
        os.replace(stage / "tree", out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    for src, dst in targets:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)  # clashes were refused above unless --force


def generate(req: Request) -> Report:
    """Build the tree; raises ``SubmissionError`` on bad input, leaving no partial output."""
    division = check_division(req.division)
    if not (req.submitter or "").strip():
        raise SubmissionError("--submitter is required: the organisation that submits (it names the folder "
                              "and must equal the system description's submitter)")
    submitter = _folder_name(req.submitter.strip(), "submitter")
    out = Path(req.out_dir).absolute()
    if out.exists() and not (out.is_dir() and not any(out.iterdir())) and not req.force:
        raise SubmissionError(f"{out} already exists; pass --force to replace it")
    if not req.results:
        raise SubmissionError("no result folders given (--results=DIR[,DIR...])")
    resolved = [Path(r).absolute() for r in req.results]
    for r in resolved:
        if out == r or out in r.parents:
            raise SubmissionError(f"the output {out} would replace the result folder {r}")
    parts = [p for r in resolved for p in discover(r)]

    overrides = system.load_overrides(req.system_overrides) if req.system_overrides else {}
    desc = system.build(_detected(parts, req), overrides, division=division, submitter=submitter,
                        status=req.status, system_type=req.system_type, system_name=req.system_name,
                        overrides_file=req.system_overrides)
    system_type = desc["system_type"]
    allowed = benchmarks_for(system_type)
    bench_name = req.benchmark or DEFAULT_BENCHMARK[system_type]
    if bench_name not in allowed:
        if bench_name in BENCHMARKS:
            raise SubmissionError(f"benchmark {bench_name!r} is not allowed for system_type {system_type!r}; "
                                  f"allowed: {', '.join(allowed)}")
        raise UnknownValueError(f"benchmark for system_type {system_type!r}", bench_name, allowed)
    bench = benchmark(bench_name)
    m_over = (system.load_overrides(req.measurements_overrides, MEASUREMENTS_REQUIRED_FIELDS)
              if req.measurements_overrides else {})
    if req.model_name:
        _folder_name(req.model_name, "model_name")
        if req.model_name in BENCHMARKS and req.model_name != bench.name:
            raise SubmissionError(f"--model_name={req.model_name} is another official benchmark's name; the "
                                  f"checker would read the results as {req.model_name}, not {bench.name}")
    sys_id = _folder_name(req.system_id, "system_id") if req.system_id else _default_system_id(desc)
    groups = _group(parts, req, bench.name, division)
    if division != "open":
        scenarios = bench.required_scenarios(system_type) + bench.optional_scenarios(system_type)
        bad = sorted({s for _, s in groups if s not in scenarios})
        if bad:
            raise SubmissionError(f"{bench.name} on a {system_type} system has no {', '.join(bad)} scenario in the "
                                  f"{division} division; allowed: {', '.join(scenarios)}")
    mapping = {m: bench.name for m, _ in groups if m != bench.name} if division == "open" else {}
    backup_dir = Path(req.backup_dir).absolute() if req.backup_dir else out.with_name(out.name + "-accuracy-backup")
    if backup_dir == out or out in backup_dir.parents:
        raise SubmissionError(f"--backup_dir {backup_dir} must be outside the submission tree {out}")

    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    stage.mkdir()
    try:
        builder = _Builder(req, stage, division, submitter, sys_id, bench.name)
        versions = sorted({str(v) for p in parts if (v := parse_detail(p.log_dir / "mlperf_log_detail.txt")
                                                       .get("loadgen_version"))})
        builder.common(desc, mapping, versions)
        done = [builder.scenario(model, scen, modes, m_over) for (model, scen), modes in sorted(groups.items())]
        _publish(stage, out, backup_dir, req.force)
    except OSError as exc:  # disk full, permissions...: still one clear line, and nothing half-written
        raise SubmissionError(f"cannot write the submission {out}: {exc}") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    final = [ScenarioOut(s.model, s.scenario, out / s.path.relative_to(builder.tree), s.modes, s.truncation)
             for s in done]
    return Report(out, out / division / submitter, division, submitter, sys_id, bench.name, mapping, tuple(final),
                  backup_dir, tuple(system.na_fields(desc)), tuple(builder.warnings))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flexbench.mlperf.package", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", type=Path, help="FlexBench or LoadGen result folders")
    p.add_argument("--out", required=True, type=Path, help="the submission tree to create")
    p.add_argument("--submitter", required=True)
    for flag in ("division", "status", "system_type", "benchmark", "system_name", "system_id", "model_name"):
        p.add_argument(f"--{flag}")
    for flag in ("system_overrides", "measurements_overrides", "backup_dir"):
        p.add_argument(f"--{flag}", type=Path)
    p.add_argument("--force", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    req = Request(results=tuple(a.results), out_dir=a.out, submitter=a.submitter,
                  division=a.division or DEFAULT_DIVISION, status=a.status, system_type=a.system_type, benchmark=a.benchmark, system_name=a.system_name,
                  system_id=a.system_id, model_name=a.model_name, system_overrides=a.system_overrides,
                  measurements_overrides=a.measurements_overrides, backup_dir=a.backup_dir, force=a.force)
    try:
        report = generate(req)
    except SubmissionError as exc:
        print(f"generate-mlperf-submission: {exc}", file=sys.stderr)
        return exc.exit_code
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(report.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
