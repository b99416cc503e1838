"""``power.json`` (schema ``flexbench-power/1``), and the ``power`` section of result.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flexbench.power import PowerError
from flexbench.power.estimate import LABEL as ESTIMATE_LABEL
from flexbench.fileio import atomic_write_text
from flexbench.power.samples import WindowEnergy
from flexbench.power.window import RunFigures

SCHEMA = "flexbench-power/1"
POWER_JSON = "power.json"
SAMPLES_CSV = "power_samples.csv"


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def build(*, backend: str, estimate: bool, source: str, figures: RunFigures, energy: WindowEnergy,
          samples_total: int, interval_s: float | None, details: dict[str, Any],
          workload: dict[str, Any]) -> dict[str, Any]:
    w = figures.window
    avg = energy.avg_w
    sps, tps = figures.samples_per_second, figures.tokens_per_second
    return {
        "schema": SCHEMA,
        "backend": backend,
        "estimate": estimate,
        "label": ESTIMATE_LABEL if estimate else "measurement",
        "source": source,
        "method": energy.method,
        "window": {"power_begin": figures.begin_text, "power_end": figures.end_text,
                   "start_unix_s": w.start, "end_unix_s": w.end, "duration_s": round(w.duration, 6)},
        "samples": {"total": samples_total, "in_window": energy.samples_in_window, "interval_s": interval_s,
                    "csv": SAMPLES_CSV},
        "avg_power_w": avg,
        "energy_j": energy.energy_j,
        # per-item energy at the measured rate: average W divided by LoadGen's throughput
        "joules_per_sample": _div(avg, sps),
        "joules_per_token": _div(avg, tps),
        "samples_per_second_per_watt": _div(sps, avg),
        "tokens_per_second_per_watt": _div(tps, avg),
        "run": {"scenario": figures.scenario, "samples_per_second": sps, "tokens_per_second": tps,
                "query_count": figures.query_count, "samples_per_query": figures.samples_per_query},
        "backend_details": details,
        "workload": workload,
    }


def section(power: dict[str, Any], path: Path) -> dict[str, Any]:
    """The short form that goes into result.json."""
    keys = ("backend", "estimate", "label", "method", "avg_power_w", "energy_j", "joules_per_sample",
            "joules_per_token", "samples_per_second_per_watt", "tokens_per_second_per_watt")
    out = {k: power[k] for k in keys}
    out["window_s"] = power["window"]["duration_s"]
    out["samples_in_window"] = power["samples"]["in_window"]
    out["power_json"] = str(path)
    return out


def write(root: Path, power: dict[str, Any]) -> Path:
    path = root / POWER_JSON
    atomic_write_text(path, json.dumps(power, indent=1) + "\n")
    result = root / "result.json"
    if result.is_file():
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise PowerError(f"{result}: not JSON ({exc}); power.json was written, result.json left as it was") from None
        if isinstance(data, dict):
            data["power"] = section(power, path)
            atomic_write_text(result, json.dumps(data, indent=1) + "\n")
    return path


def summary_lines(power: dict[str, Any], path: Path) -> list[str]:
    tag = "ESTIMATE" if power["estimate"] else "measured"

    def f(v: float | None, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)

    lines = [
        f"power ({power['backend']}, {tag}): {f(power['avg_power_w'], '.3f')} W average, "
        f"{f(power['energy_j'], '.4f')} J over {power['window']['duration_s']:.3f} s "
        f"({power['samples']['in_window']} of {power['samples']['total']} samples in LoadGen's window)",
        f"  {f(power['joules_per_sample'], '.6g')} J/sample, {f(power['joules_per_token'], '.6g')} J/token, "
        f"{f(power['samples_per_second_per_watt'], '.6g')} samples/s/W, "
        f"{f(power['tokens_per_second_per_watt'], '.6g')} tokens/s/W",
        f"  {path}",
    ]
    if power["estimate"]:
        lines.insert(1, f"  {ESTIMATE_LABEL}")
    return lines
