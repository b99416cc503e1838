"""Find the LoadGen runs inside the result folders given to the packager.

A result folder is either a FlexBench run (``result.json`` of schema
``flexbench-result/1``, ``user.conf``, ``performance/`` and/or ``accuracy/``) or a
plain LoadGen output: ``mlperf_log_detail.txt`` and friends directly in the folder,
or in ``performance/`` and ``accuracy/`` under it. Which mode and scenario a log
holds is read from the detail log itself (``effective_test_mode``,
``effective_scenario``), never guessed from folder names; a folder name that
contradicts its log is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from flexbench.loadgen_log import LogError, parse_detail
from flexbench.mlperf.errors import SubmissionError
from flexbench.mlperf.rules import REQUIRED_ACC_FILES, REQUIRED_PERF_FILES, canonical_scenario

PERFORMANCE, ACCURACY = "performance", "accuracy"
_TEST_MODES = {"PerformanceOnly": PERFORMANCE, "AccuracyOnly": ACCURACY}
DETAIL = "mlperf_log_detail.txt"
RESULT_SCHEMA = "flexbench-result/"


@dataclass(frozen=True)
class Power:
    """What a power collection left next to a run (see the power recipe)."""

    summary: Path | None  # power.json
    power_dir: Path | None  # performance/power/ (PTDaemon client/server logs)
    ranging_dir: Path | None  # performance/ranging/
    spl: Path | None  # spl.txt of the testing run


@dataclass(frozen=True)
class Part:
    """One LoadGen run (one mode of one scenario) found in a result folder."""

    source: Path  # the folder the user gave
    log_dir: Path  # the folder holding the LoadGen logs
    mode: str  # performance | accuracy
    scenario: str  # canonical: Offline, Server, ...
    user_conf: Path | None
    result: Mapping[str, Any] | None  # result.json of a FlexBench run, else None
    power: Power | None = None

    @property
    def model_id(self) -> str | None:
        if not self.result:
            return None
        cfg = self.result.get("config") or {}
        prov = (self.result.get("provenance") or {}).get("model") or {}
        return cfg.get("model_id") or prov.get("id") or None

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.mode} from {self.log_dir}"


def _load_result(folder: Path) -> Mapping[str, Any] | None:
    path = folder / "result.json"
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SubmissionError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(result, dict) or not str(result.get("schema", "")).startswith(RESULT_SCHEMA):
        raise SubmissionError(f"{path}: not a FlexBench result (schema {RESULT_SCHEMA}1 expected)")
    if result.get("status") != "ok":
        raise SubmissionError(f"{path}: the run failed ({result.get('failure') or result.get('status')}); "
                              "a failed run cannot be packaged")
    return result


def _mode_and_scenario(log_dir: Path) -> tuple[str, str]:
    detail = log_dir / DETAIL
    try:
        log = parse_detail(detail)
    except (OSError, LogError) as exc:
        raise SubmissionError(f"{detail}: not a LoadGen detail log ({exc})") from exc
    test_mode, scenario = log.get("effective_test_mode"), log.get("effective_scenario")
    if test_mode not in _TEST_MODES:
        raise SubmissionError(f"{detail}: test mode {test_mode!r} cannot be packaged "
                              f"(expected one of {', '.join(_TEST_MODES)})")
    if not scenario:
        raise SubmissionError(f"{detail}: no effective_scenario record")
    return _TEST_MODES[test_mode], canonical_scenario(scenario)


def _require(log_dir: Path, mode: str) -> None:
    needed = REQUIRED_PERF_FILES if mode == PERFORMANCE else REQUIRED_ACC_FILES
    missing = [f for f in needed if not (log_dir / f).is_file()]
    if missing:
        hint = (" (score the log with: cmx run script --tags=process,flexbench,accuracy)"
                if "accuracy.txt" in missing else "")
        raise SubmissionError(f"{log_dir}: {mode} run lacks {', '.join(missing)}{hint}")


def _power(folder: Path, log_dir: Path) -> Power | None:
    summary = folder / "power.json"
    power_dir, ranging_dir = folder / PERFORMANCE / "power", folder / PERFORMANCE / "ranging"
    spl = log_dir / "spl.txt"
    found = Power(summary if summary.is_file() else None, power_dir if power_dir.is_dir() else None,
                  ranging_dir if ranging_dir.is_dir() else None, spl if spl.is_file() else None)
    return found if any((found.summary, found.power_dir, found.ranging_dir, found.spl)) else None


def discover(folder: Path) -> list[Part]:
    """The LoadGen runs in one result folder, performance first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError(f"result folder {folder} does not exist" if not folder.exists()
                              else f"result folder {folder} is not a directory")
    result = _load_result(folder)
    parts: list[Part] = []
    for log_dir in (folder / PERFORMANCE, folder / ACCURACY, folder):
        if not (log_dir / DETAIL).is_file():
            continue
        mode, scenario = _mode_and_scenario(log_dir)
        if log_dir.name in (PERFORMANCE, ACCURACY) and log_dir != folder and log_dir.name != mode:
            raise SubmissionError(f"{log_dir / DETAIL}: holds a {mode} run but sits in {log_dir.name}/")
        _require(log_dir, mode)
        conf = next((c for c in (folder / "user.conf", log_dir / "user.conf") if c.is_file()), None)
        power = _power(folder, log_dir) if mode == PERFORMANCE else None
        parts.append(Part(folder, log_dir, mode, scenario, conf, result, power))
    if not parts:
        raise SubmissionError(f"no LoadGen logs in {folder}: expected {DETAIL} in it, "
                              f"or in its {PERFORMANCE}/ or {ACCURACY}/ folder")
    modes = [p.mode for p in parts]
    if len(set(modes)) != len(modes):
        raise SubmissionError(f"{folder}: two {modes[0]} runs in one folder "
                              f"({', '.join(str(p.log_dir) for p in parts)})")
    return parts
