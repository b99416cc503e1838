"""The facts one result folder is checked against, gathered once by the walker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexbench.mlperf import rules


@dataclass(frozen=True)
class ResultContext:
    root: Path
    division: str
    submitter: str
    system: str
    benchmark_dir: str  # the folder name (an official name, or a custom one in open)
    scenario_dir: str
    system_json: dict[str, Any] | None
    bench: rules.Benchmark | None  # None when the name maps to no v6.1 benchmark
    skip_dataset_size_check: bool = False

    @property
    def dir(self) -> Path:
        return self.root / self.division / self.submitter / "results" / self.system / self.benchmark_dir / self.scenario_dir

    @property
    def perf_dir(self) -> Path:
        return self.dir / "performance" / "run_1"

    @property
    def acc_dir(self) -> Path:
        return self.dir / "accuracy"

    @property
    def closed(self) -> bool:
        return self.division in ("closed", "network")

    @property
    def scenario(self) -> str:
        """The folder's scenario in MLPerf's spelling ('' when it is not a scenario)."""
        try:
            return rules.canonical_scenario(self.scenario_dir)
        except rules.UnknownValueError:
            return ""

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)
