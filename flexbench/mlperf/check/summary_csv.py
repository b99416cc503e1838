"""``summary.csv``: one row per accepted result, in the columns of MLPerf's checker
(``submission_checker/results.py``), so it can feed the Open MLPerf Dataset."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from flexbench.fileio import atomic_write_text
from flexbench.mlperf import rules
from flexbench.mlperf.check.context import ResultContext

COLUMNS: tuple[str, ...] = (
    "Organization", "Availability", "Division", "SystemType", "SystemName", "Platform", "Model",
    "MlperfModel", "Scenario", "Result", "Accuracy", "number_of_nodes", "host_processor_model_name",
    "host_processors_per_node", "host_processor_core_count", "accelerator_model_name",
    "accelerators_per_node", "total_accelerators", "Location", "framework", "operating_system", "notes",
    "compliance", "errors", "version", "inferred", "has_power", "Units", "weight_data_types",
    "design_power_watts", "PrivateID",
)


def _total_accelerators(desc: dict[str, Any]) -> Any:
    try:
        return int(desc.get("number_of_nodes")) * int(desc.get("accelerators_per_node"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def csv_row(ctx: ResultContext, metric: float | None, accuracy: dict[str, str], effective_scenario: str) -> dict[str, Any]:
    desc = ctx.system_json or {}
    notes = str(desc.get("hw_notes") or "")
    if desc.get("sw_notes"):
        notes = (notes + ". " if notes else "") + str(desc["sw_notes"])
    measurements: dict[str, Any] = {}
    try:
        measurements = json.loads((ctx.dir / "measurements.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    scenario = ctx.scenario
    model = ctx.bench.name if ctx.bench else ""
    inferred = int(bool(effective_scenario) and effective_scenario != scenario
                   and (effective_scenario, scenario) != ("Server", "Interactive"))
    return {
        "Organization": ctx.submitter,
        "Availability": desc.get("status", ""),
        "Division": ctx.division,
        "SystemType": desc.get("system_type", ""),
        "SystemName": desc.get("system_name", ""),
        "Platform": ctx.system,
        "Model": ctx.benchmark_dir,
        "MlperfModel": model,
        "Scenario": ctx.scenario_dir,
        "Result": metric if metric is not None else "",
        "Accuracy": "  ".join(f"{k}: {v}" for k, v in accuracy.items()),
        "number_of_nodes": desc.get("number_of_nodes", ""),
        "host_processor_model_name": desc.get("host_processor_model_name", ""),
        "host_processors_per_node": desc.get("host_processors_per_node", ""),
        "host_processor_core_count": desc.get("host_processor_core_count", ""),
        "accelerator_model_name": desc.get("accelerator_model_name", ""),
        "accelerators_per_node": desc.get("accelerators_per_node", ""),
        "total_accelerators": _total_accelerators(desc),
        "Location": ctx.rel(ctx.perf_dir),
        "framework": desc.get("framework", ""),
        "operating_system": desc.get("operating_system", ""),
        "notes": notes,
        "compliance": ctx.division,
        "errors": 0,
        "version": rules.ROUND,
        "inferred": inferred,
        "has_power": (ctx.dir / "performance" / "power").is_dir(),
        "Units": rules.unit(model, scenario) if model and scenario else "",
        "weight_data_types": measurements.get("weight_data_types", ""),
        "design_power_watts": "",
        "PrivateID": "",
    }


def render(rows: Iterable[dict[str, Any]]) -> str:
    """The CSV text: a plain header line, then every value quoted, as MLPerf's checker writes it."""
    buf = io.StringIO()
    buf.write(",".join(COLUMNS) + "\n")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    return buf.getvalue()


def write(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write atomically (temp file + rename)."""
    path = Path(path)
    atomic_write_text(path, render(rows))
    return path
