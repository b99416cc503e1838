"""What the checker reports: findings (one broken rule each) grouped per result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One rule a file breaks: ``found`` is what the tree has, ``required`` what the round needs.

    ``source`` names which official checker enforces the rule: ``both``, ``new``
    (the modular ``submission_checker``) or ``old`` (``submission_checker_old.py``).
    """

    rule: str
    path: str
    message: str
    found: Any = None
    required: Any = None
    severity: str = ERROR
    source: str = "both"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "path": self.path, "message": self.message,
                "found": self.found, "required": self.required, "source": self.source}


@dataclass(frozen=True)
class ResultReport:
    """The verdict on one ``results/<system>/<benchmark>/<scenario>`` folder (or a
    submitter/system level problem, then benchmark/scenario are empty)."""

    division: str
    submitter: str
    system: str
    benchmark: str
    scenario: str
    path: str
    findings: tuple[Finding, ...] = ()
    mlperf_model: str = ""
    metric: float | None = None
    accuracy: dict[str, str] = field(default_factory=dict)
    csv_row: dict[str, Any] | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def key(self) -> str:
        """``division/submitter/system/benchmark/scenario``: how reports are matched."""
        return "/".join(p for p in (self.division, self.submitter, self.system, self.benchmark, self.scenario) if p)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "division": self.division, "submitter": self.submitter, "system": self.system,
                "benchmark": self.benchmark, "mlperf_model": self.mlperf_model, "scenario": self.scenario,
                "path": self.path, "passed": self.passed, "metric": self.metric, "accuracy": self.accuracy,
                "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True)
class Report:
    root: str
    round: str
    results: tuple[ResultReport, ...]
    skip_dataset_size_check: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"root": self.root, "round": self.round, "passed": self.passed,
                "skip_dataset_size_check": self.skip_dataset_size_check,
                "results": [r.as_dict() for r in self.results]}
