"""Run MLPerf's own submission checkers on a tree and read their verdicts.

Both checkers of ``mlcommons/inference`` ``tools/submission/`` are run, as separate
processes with an argv list (never a shell):

- ``new``: the modular package, ``python -m submission_checker.main``;
- ``old``: ``submission_checker_old.py``.

They disagree on some points (the new one accepts an INVALID performance run, the old
one rejects it), so both verdicts are kept. Each prints ``Results <path> <metric>`` for
an accepted result and ``NoResults <path>`` for a rejected one (a result, a benchmark,
a system or a submitter folder); :func:`verdict_for` maps those back to our results.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from flexbench.fileio import atomic_write_text
from flexbench.mlperf import rules
from flexbench.mlperf.errors import OfficialCheckerError

CHECKERS = ("new", "old")
_LINE = re.compile(r"\b(NoResults|Results) (\S+)")
_PERF_TAIL = "/performance/run_1/mlperf_log_detail.txt"


@dataclass(frozen=True)
class OfficialVerdict:
    checker: str  # "new" or "old"
    command: tuple[str, ...]
    returncode: int
    passed_keys: tuple[str, ...]
    failed_keys: tuple[str, ...]
    log_path: Path
    csv_path: Path
    crashed: bool = False
    messages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.crashed

    def verdict_for(self, key: str) -> bool | None:
        """True/False for a result ``division/submitter/system/benchmark/scenario``;
        None when this checker said nothing about it (it stopped earlier)."""
        parts = key.split("/")
        for failed in self.failed_keys:
            fparts = failed.split("/") if failed else []
            if failed == "root" or parts[: len(fparts)] == fparts:
                return False
        if key in self.passed_keys:
            return True
        # a checker that crashed did not accept the tree
        return False if self.crashed else None

    def as_dict(self) -> dict[str, object]:
        return {"checker": self.checker, "command": list(self.command), "returncode": self.returncode,
                "passed": self.passed, "crashed": self.crashed, "passed_keys": list(self.passed_keys),
                "failed_keys": list(self.failed_keys), "log": str(self.log_path), "csv": str(self.csv_path),
                "errors": list(self.messages)}


def normalize_key(path: str, root: Path) -> str:
    """``<root>/open/Org/results/sys/bench/Offline/performance/run_1/mlperf_log_detail.txt``
    (new) or ``open/Org/results/sys/bench/Offline`` (old) -> ``open/Org/sys/bench/Offline``."""
    p = path.strip()
    r = str(root).rstrip("/") + "/"
    if p.startswith(r):
        p = p[len(r):]
    if p.endswith(_PERF_TAIL):
        p = p[: -len(_PERF_TAIL)]
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if len(parts) >= 3 and parts[2] == "results":
        del parts[2]
    return "/".join(parts)


def parse_output(text: str, root: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    passed: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    for line in text.splitlines():
        m = _LINE.search(line)
        if m:
            (failed if m.group(1) == "NoResults" else passed).append(normalize_key(m.group(2), root))
        elif " ERROR]" in line or ":ERROR:" in line:
            errors.append(line.split("] ", 1)[-1] if "] " in line else line)
    return tuple(dict.fromkeys(passed)), tuple(dict.fromkeys(failed)), tuple(errors)


def find_checker_dir(path: Path) -> Path:
    """``tools/submission`` inside a checkout of mlcommons/inference (or that folder itself)."""
    for cand in (path / "tools" / "submission", path):
        if (cand / "submission_checker" / "main.py").is_file() and (cand / "submission_checker_old.py").is_file():
            return cand
    raise OfficialCheckerError(
        f"{path}: no tools/submission/submission_checker/main.py and submission_checker_old.py "
        "(is this a checkout of mlcommons/inference with tools/submission?)")


def run_checker(which: str, root: Path, checker_dir: Path, out_dir: Path, *, python: str,
                skip_dataset_size_check: bool = False, timeout: float = 1800,
                env: Mapping[str, str] | None = None) -> OfficialVerdict:
    if which not in CHECKERS:
        raise OfficialCheckerError(f"unknown official checker {which!r}; allowed: {', '.join(CHECKERS)}")
    root = Path(root).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = (out_dir / f"summary-official-{which}.csv").resolve()
    log_path = out_dir / f"official-{which}.log"
    entry = ["-m", "submission_checker.main"] if which == "new" else ["submission_checker_old.py"]
    cmd = [python, *entry, "--input", str(root), "--version", rules.ROUND, "--csv", str(csv_path)]
    if skip_dataset_size_check:
        cmd.append("--skip-dataset-size-check")
    run_env = dict(os.environ if env is None else env)
    run_env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run(cmd, cwd=checker_dir, capture_output=True, text=True, timeout=timeout, env=run_env)
    except FileNotFoundError as exc:
        raise OfficialCheckerError(f"cannot run {python}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise OfficialCheckerError(f"MLPerf's {which} checker did not finish within {timeout:.0f} s") from None
    text = proc.stdout + proc.stderr
    atomic_write_text(log_path, text)
    if "No module named" in text and "ModuleNotFoundError" in text:
        missing = re.search(r"No module named '([^']+)'", text)
        raise OfficialCheckerError(
            f"MLPerf's {which} checker needs the Python module {missing.group(1) if missing else '?'} "
            f"in {python} (see {log_path})")
    passed, failed, errors = parse_output(text, root)
    crashed = "Traceback (most recent call last)" in text
    return OfficialVerdict(which, tuple(cmd), proc.returncode, passed, failed, log_path, csv_path, crashed, errors)


def run_official(root: Path, checker_dir: Path, out_dir: Path, *, python: str,
                 skip_dataset_size_check: bool = False) -> dict[str, OfficialVerdict]:
    checker_dir = find_checker_dir(Path(checker_dir))
    return {w: run_checker(w, root, checker_dir, out_dir, python=python,
                           skip_dataset_size_check=skip_dataset_size_check) for w in CHECKERS}


@dataclass(frozen=True)
class Agreement:
    key: str
    ours: bool
    new: bool | None
    old: bool | None

    @property
    def official(self) -> bool | None:
        """Accepted by MLPerf = accepted by both of its checkers."""
        known = [v for v in (self.new, self.old) if v is not None]
        if not known:
            return None
        return all(known)

    @property
    def agrees(self) -> bool:
        return self.official is None or self.official == self.ours

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "ours": self.ours, "new": self.new, "old": self.old, "official": self.official,
                "agrees": self.agrees}


def compare(our_results: Mapping[str, bool], verdicts: Mapping[str, OfficialVerdict]) -> tuple[Agreement, ...]:
    out = []
    for key, ours in our_results.items():
        new = verdicts["new"].verdict_for(key) if "new" in verdicts else None
        old = verdicts["old"].verdict_for(key) if "old" in verdicts else None
        out.append(Agreement(key, ours, new, old))
    return tuple(out)
