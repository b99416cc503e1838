"""``import,mlperf,results``: an MLPerf inference results repository, read from its raw files.

Two layouts are recognised by what the folder holds:

- **round** (``mlcommons/inference_results_vX.Y``, rounds v4.0 to v6.x):
  ``<closed|open|network>/<submitter>/systems/<system>.json`` and
  ``<division>/<submitter>/results/<system>/<benchmark>/<scenario>/performance/run_1/mlperf_log_detail.txt``,
  with ``accuracy/accuracy.txt`` beside ``performance/``; the measurements JSON sits in
  ``measurements/<system>/<benchmark>/<scenario>/`` before v6 and in the scenario folder
  (``measurements.json``) from v6; open-division ``model_mapping.json`` maps custom names;
- **samples** (``../shared/data/mlperf-results/v4.1-log-samples``):
  ``<submitter>/<system>/system.json`` and ``<submitter>/<system>/<benchmark>/<scenario>/mlperf_log_detail.txt``
  (the division is the system description's).

The headline metric is read from the detail log the way MLPerf's checker does
(``openmlperf.headline``). The round is ``--round``, else a ``vX.Y`` in the folder's path,
else LoadGen's version (``4.1 @ ...`` -> v4.1; noted in the report as inferred).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from flexbench.loadgen_log import LogError, parse_detail
from openmlperf import accuracy, derive, headline, normalize, schema
from openmlperf.errors import DatasetError
from openmlperf.importers.common import Candidate, ImportReport, Skip, commit
from openmlperf.storage import SourceRef, Store

KIND = "mlperf-round"
DIVISIONS = ("closed", "open", "network")
DETAIL = "mlperf_log_detail.txt"
_SCENARIOS = {s.lower(): s for s in schema.SCENARIOS}
# detail-log records the dataset does not use and that are most of a log's bytes
SKIP_KEYS = frozenset({"loaded_qsl_set", "loadgen_file_sha1"})
_ROUND = re.compile(r"(?:^|[^0-9A-Za-z])v(\d+\.\d+)(?:[^0-9]|$)")


@dataclass(frozen=True)
class Place:
    """Where a result sits: its identity fields."""

    round: str
    division: str
    submitter: str
    system: str
    benchmark: str  # the folder name
    scenario: str  # the folder name
    mlperf_name: str  # the official benchmark (model_mapping.json applied)


@dataclass(frozen=True)
class Files:
    detail: Path
    system_json: Path | None
    accuracy_txt: Path | None = None
    measurements: Path | None = None
    spl: Path | None = None
    power_dir: Path | None = None

    def listed(self) -> list[Path]:
        return [p for p in (self.detail, self.system_json, self.accuracy_txt, self.measurements, self.spl)
                if p is not None]


def _dirs(p: Path) -> list[Path]:
    try:
        return sorted(c for c in p.iterdir() if c.is_dir() and not c.name.startswith("."))
    except OSError:
        return []


def detect_layout(root: Path) -> str:
    if any((root / d).is_dir() for d in DIVISIONS):
        return "round"
    for sub in _dirs(root):
        for system in _dirs(sub):
            if (system / "system.json").is_file():
                return "samples"
    raise DatasetError(f"--path={root}: neither an MLPerf results tree (closed/, open/ or network/ inside) "
                       f"nor a SUBMITTER/SYSTEM/system.json sample layout")


def round_from_path(root: Path) -> str | None:
    for part in reversed(root.parts):
        m = _ROUND.search(part)
        if m:
            return "v" + m.group(1)
    return None


def round_from_loadgen(version: Any) -> str | None:
    m = re.match(r"\s*(\d+)\.(\d+)", str(version or ""))
    return f"v{m.group(1)}.{m.group(2)}" if m else None


def git_commit(root: Path) -> str | None:
    for d in (root, *root.parents):
        if (d / ".git").exists():
            try:
                out = subprocess.run(["git", "-C", str(d), "rev-parse", "HEAD"], capture_output=True, text=True,
                                     timeout=20, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
            sha = out.stdout.strip()
            return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else None
    return None


def _scenario(name: str) -> str | None:
    return _SCENARIOS.get(name.lower())


def _perf_detail(scen: Path) -> Path | None:
    perf = scen / "performance"
    for cand in [perf / "run_1" / DETAIL, *sorted(perf.glob("run_*/" + DETAIL)), perf / DETAIL, scen / DETAIL]:
        if cand.is_file():
            return cand
    return None


def _first(*paths: Path | None) -> Path | None:
    for p in paths:
        if p is not None and p.is_file():
            return p
    return None


def walk_round(root: Path, round_: str | None) -> Iterator[tuple[Place, Files] | Skip]:
    for ddir in (root / d for d in DIVISIONS):
        for sdir in _dirs(ddir):
            mapping: dict[str, str] = {}
            mfile = sdir / "model_mapping.json"
            if mfile.is_file():
                try:
                    data = json.loads(mfile.read_text(encoding="utf-8"))
                    mapping = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
                except (ValueError, OSError) as exc:
                    yield Skip(str(mfile), f"unreadable model_mapping.json: {exc}")
            for sysdir in _dirs(sdir / "results"):
                sys_json = sdir / "systems" / f"{sysdir.name}.json"
                for bdir in _dirs(sysdir):
                    for scen in _dirs(bdir):
                        place = Place(round_ or "", ddir.name, sdir.name, sysdir.name, bdir.name, scen.name,
                                      headline.official_name(bdir.name, mapping))
                        detail = _perf_detail(scen)
                        if detail is None:
                            yield Skip(str(scen), f"no performance/run_1/{DETAIL}")
                            continue
                        meas_dir = sdir / "measurements" / sysdir.name / bdir.name / scen.name
                        meas = _first(scen / "measurements.json",
                                      *sorted(p for p in meas_dir.glob("*.json")) if meas_dir.is_dir() else [])
                        power_dir = scen / "performance" / "power"
                        yield place, Files(detail, sys_json if sys_json.is_file() else None,
                                           _first(scen / "accuracy" / "accuracy.txt"), meas,
                                           _first(detail.parent / "spl.txt", power_dir / "spl.txt"),
                                           power_dir if power_dir.is_dir() else None)


def walk_samples(root: Path, round_: str | None) -> Iterator[tuple[Place, Files] | Skip]:
    for sdir in _dirs(root):
        for sysdir in _dirs(sdir):
            sys_json = sysdir / "system.json"
            division = ""
            if sys_json.is_file():
                try:
                    division = str(json.loads(sys_json.read_text(encoding="utf-8")).get("division") or "")
                except (ValueError, OSError, AttributeError):
                    division = ""
            for bdir in _dirs(sysdir):
                for scen in _dirs(bdir):
                    place = Place(round_ or "", division, sdir.name, sysdir.name, bdir.name, scen.name,
                                  headline.official_name(bdir.name))
                    detail = _first(scen / DETAIL, scen / "performance" / "run_1" / DETAIL)
                    if detail is None:
                        yield Skip(str(scen), f"no {DETAIL}")
                        continue
                    yield place, Files(detail, sys_json if sys_json.is_file() else None,
                                       _first(scen / "accuracy.txt", scen / "accuracy" / "accuracy.txt"),
                                       _first(scen / "measurements.json"), _first(scen / "spl.txt"), None)


def _rel(root: Path, p: Path) -> str:
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(p)


def result_row(place: Place, files: Files, *, source: str, root: Path | None, commit_sha: str | None) -> dict[str, Any]:
    """One dataset row from a result's raw files; raises ValueError with the reason when it cannot."""
    scenario = _scenario(place.scenario)
    if scenario is None:
        raise ValueError(f"unknown scenario folder {place.scenario!r}")
    bench = place.mlperf_name
    if not headline.is_known(bench):
        raise ValueError(f"unknown benchmark {bench!r}" + (f" (folder {place.benchmark!r})"
                                                           if bench != place.benchmark else ""))
    if files.system_json is None:
        raise ValueError("no system description (systems/<system>.json)")
    try:
        desc = json.loads(files.system_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{files.system_json}: not readable JSON: {exc}") from None
    if not isinstance(desc, dict):
        raise ValueError(f"{files.system_json}: not a JSON object")
    try:
        log = parse_detail(files.detail, SKIP_KEYS)
    except (LogError, OSError) as exc:
        raise ValueError(str(exc)) from None
    logged = log.get("effective_scenario")
    if logged and logged != scenario and not (scenario == "Interactive" and logged == "Server"):
        raise ValueError(f"the log's scenario {logged!r} is not the folder's {scenario!r}")
    head = headline.headline(bench, scenario, log.values)
    if head is None:
        keys, _, _ = headline.candidates(bench, scenario)
        raise ValueError(f"{files.detail}: no headline metric ({' or '.join(keys)}) in the log")
    round_ = place.round or round_from_loadgen(log.get("loadgen_version")) or ""
    division = place.division or str(desc.get("division") or "")
    rid, ident = schema.identity(round=round_, division=division, submitter=place.submitter, system=place.system,
                                 benchmark=place.benchmark, scenario=place.scenario, mode="performance")
    row: dict[str, Any] = normalize.system_columns(desc)
    row.update(derive.log_columns(log))
    measurements: dict[str, Any] = {}
    if files.measurements is not None:
        try:
            m = json.loads(files.measurements.read_text(encoding="utf-8"))
            measurements = m if isinstance(m, dict) else {}
        except (OSError, ValueError):
            measurements = {}
    metrics: dict[str, float] = accuracy.read_accuracy_txt(files.accuracy_txt) if files.accuracy_txt else {}
    nodes = row.get("system.number_of_nodes")
    row.update(accuracy.columns(metrics))
    row.update(derive.power_columns(log.values, files.spl, files.power_dir, scenario,
                                    row.get("metrics.samples_per_second"), row.get("metrics.tokens_per_second")))
    row.update({
        "benchmark.name": "mlperf-inference",
        "benchmark.version": round_.lstrip("v") or None,
        "metrics.result": head.value,
        "metrics.units": head.units,
        "metrics.result_key": head.key,
        "metrics.result_per_accelerator": normalize.per_unit(head.value, row.get("system.accelerator.total_count")),
        "metrics.result_per_node": normalize.per_unit(head.value, nodes),
        "metrics.accuracy": accuracy.format_string(metrics),
        "model.name": place.benchmark,
        "model.mlperf_name": bench,
        "model.architecture": normalize.architecture(bench),
        "model.number_of_parameters": normalize.parameters_billion(bench),
        "model.weight_data_types": normalize.dtype(measurements.get("weight_data_types")),
        "submission.division": division or None,
        "submission.organization": place.submitter,
        "submission.scenario": scenario,
        "submission.platform": place.system,
        "submission.mode": "performance",
        "submission.round": round_ or None,
        "submission.debug_uid": rid,
        "result.id": rid,
        "result.identity": ident,
        "provenance.source_kind": KIND,
        "provenance.source": source,
        "provenance.commit": commit_sha,
        "provenance.files": json.dumps([_rel(root, p) if root else p.name for p in files.listed()]),
    })
    return row


def candidates(root: Path, round_: str | None, source: str, report: ImportReport) -> Iterator[Candidate | Skip]:
    layout = detect_layout(root)
    report.extra["layout"] = layout
    if not round_:
        round_ = round_from_path(root)
        if not round_:
            report.notes.append("no --round and no vX.Y in the path: the round is LoadGen's version of each log")
    report.extra["round"] = round_
    sha = git_commit(root)
    walk = walk_round if layout == "round" else walk_samples
    for item in walk(root, round_):
        if isinstance(item, Skip):
            yield item
            continue
        place, files = item
        try:
            yield Candidate(str(files.detail), result_row(place, files, source=source, root=root, commit_sha=sha))
        except ValueError as exc:
            yield Skip(str(files.detail), str(exc))


def import_tree(path: str | Path, dataset_dir: str | Path | None = None, *, round_: str | None = None,
                summary_csv: str | Path | None = None, source_url: str | None = None) -> ImportReport:
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"--path={path}: no such folder")
    if round_ and not re.fullmatch(r"v\d+\.\d+", round_):
        raise DatasetError(f"--round={round_}: expected vX.Y (e.g. v5.0)")
    store = Store(dataset_dir)
    source = source_url or str(root)
    report = ImportReport(source=source, kind=KIND)
    items = list(candidates(root, round_, source, report))
    rows = [c.row for c in items if isinstance(c, Candidate)]
    official = compare_official(rows, Path(summary_csv).expanduser().resolve()) if summary_csv else None
    out = commit(store, SourceRef(KIND, source), items, info={"layout": report.extra.get("layout")})
    out.notes[:0] = report.notes
    out.extra.update(report.extra)
    if official is not None:
        out.extra["official"] = official
        if official["disagree"]:
            out.notes.append(f"{len(official['disagree'])} result(s) disagree with {summary_csv}")
    return out


# -- the official table -------------------------------------------------------------------------

def _official_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"--summary_csv={path}: no such file")
    if path.suffix.lower() == ".json":  # the round's summary_results.json (v5.1 on)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"--summary_csv={path}: not readable JSON ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DatasetError(f"--summary_csv={path}: expected a list of results (summary_results.json)")
        return data
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _official_key(rec: dict[str, Any]) -> tuple[tuple[str, ...], str, str] | None:
    """(key, value, units) of a row of MLPerf's summary.csv, of the results-from-logs table or of
    the round's summary_results.json (its ``Location`` names the folders; ``Model`` is the official
    benchmark, not the folder, and the folder of the scenario may be lower case)."""
    if "Location" in rec and "Performance_Result" in rec:
        parts = str(rec["Location"]).split("/")
        if len(parts) != 6 or parts[2] != "results":
            return None
        k = (parts[0], parts[1], parts[3], parts[4], str(rec.get("Scenario") or parts[5]))
        return k, str(rec["Performance_Result"]), str(rec.get("Performance_Units") or "")
    if "Organization" in rec:  # the checker's summary.csv
        k = (rec.get("Division", ""), rec["Organization"], rec.get("Platform", ""), rec.get("Model", ""),
             rec.get("Scenario", ""))
        return k, rec.get("Result", ""), rec.get("Units", "")
    if "submitter" in rec:  # mlperf_inference_vX.Y_results_from_logs.csv
        k = (rec.get("division", ""), rec["submitter"], rec.get("platform", ""), rec.get("model", ""),
             rec.get("scenario", ""))
        return k, rec.get("metric_value", ""), rec.get("units", "")
    return None


def _close(a: float, b: float) -> bool:
    """Equal within the rounding of the official table (it prints about 6 significant digits)."""
    return abs(a - b) <= max(1e-9, 5e-6 * max(abs(a), abs(b)))


def compare_official(rows: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    """Each imported result against the official table: equal within rounding, different, or absent."""
    table: dict[tuple[str, ...], tuple[str, str]] = {}
    for rec in _official_rows(path):
        k = _official_key(rec)
        if k is None and "Location" in rec:
            continue  # a summary_results.json entry outside results/ (none seen; not comparable)
        if k is None:
            raise DatasetError(f"--summary_csv={path}: neither MLPerf's summary.csv (Organization, Platform, "
                               f"Model, Scenario, Result) nor a results-from-logs table (submitter, platform, ...)")
        table[k[0]] = (k[1], k[2])
    agree, disagree, missing = 0, [], []
    for r in rows:
        key = (r.get("submission.division") or "", r.get("submission.organization") or "",
               r.get("submission.platform") or "", r.get("model.name") or "", r.get("submission.scenario") or "")
        if key not in table:
            missing.append("/".join(key))
            continue
        value, units = table[key]
        try:
            theirs = float(value)
        except ValueError:
            disagree.append({"result": "/".join(key), "ours": r["metrics.result"], "official": value})
            continue
        if _close(float(r["metrics.result"]), theirs) and (not units or units == r.get("metrics.units")):
            agree += 1
        else:
            disagree.append({"result": "/".join(key), "ours": r["metrics.result"], "ours_units": r.get("metrics.units"),
                             "official": theirs, "official_units": units})
    return {"table": str(path), "compared": agree + len(disagree), "agree": agree, "disagree": disagree,
            "not_in_official": missing}

