"""The MLPerf LLM benchmark tasks (``flexboard/data/mlperf_tasks.json``): the dataset and latency
rules a result was measured under. A row's task comes from its ``model.mlperf_name`` (an
open-division row may run another model, e.g. DeepSeek-V3 on the llama3.1-405b task, and the
task's long inputs dominate its throughput)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "mlperf_tasks.json"


@dataclass(frozen=True)
class Limits:
    ttft_ms: float
    tpot_ms: float


@dataclass(frozen=True)
class Task:
    key: str
    dataset: str
    output_tokens_per_sample: float | None
    server: Limits | None
    interactive: Limits | None
    input_tokens_per_sample: float | None = None  # mean prompt tokens; None where no source gives it
    interactive_of: str | None = None  # a v5.0 "-interactive" benchmark: its Server is this task's Interactive

    def limits(self, scenario: str | None) -> Limits | None:
        """The TTFT/TPOT limits a result of this scenario met (None for Offline: no latency rule)."""
        s = str(scenario or "").lower()
        if s == "server":
            return self.server
        if s == "interactive":
            return self.interactive
        return None


def _limits(d: Any) -> Limits | None:
    return Limits(float(d["ttft_ms"]), float(d["tpot_ms"])) if d else None


@lru_cache(maxsize=1)
def table() -> tuple[tuple[re.Pattern[str], Task], ...]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return tuple((re.compile(t["match"]), Task(key=t["key"], dataset=t["dataset"],
                                               output_tokens_per_sample=t["output_tokens_per_sample"],
                                               server=_limits(t["server"]), interactive=_limits(t["interactive"]),
                                               input_tokens_per_sample=t.get("input_tokens_per_sample"),
                                               interactive_of=t.get("interactive_of")))
                 for t in data["tasks"])


def by_key(key: str) -> Task | None:
    return next((t for _pat, t in table() if t.key == key), None)


def resolve(mlperf_name: str | None, scenario: str | None) -> tuple[Task | None, str]:
    """The task a result ran and the scenario it ran under, the same way in every round: v5.0's
    ``llama2-70b-interactive`` Server results (and any ``…-interactive`` benchmark's) are the
    Interactive scenario of the plain task, which v5.1 reports as ``llama2-70b`` Interactive; its
    Offline results are the plain task's Offline. Scenario names other than MLPerf's stay as given."""
    scen = str(scenario or "")
    task = lookup(mlperf_name)
    interactive_name = "interactive" in str(mlperf_name or "").lower()
    if task is not None and task.interactive_of:
        task = by_key(task.interactive_of) or task
    if interactive_name and scen in ("Server", "Interactive"):
        scen = "Interactive"
    return task, scen


def sources() -> dict[str, str]:
    return dict(json.loads(DATA.read_text(encoding="utf-8"))["sources"])


def lookup(mlperf_name: str | None) -> Task | None:
    if not mlperf_name:
        return None
    low = str(mlperf_name).lower()
    for pat, task in table():
        if pat.search(low):
            return task
    return None
