"""Shared helpers of the benchmark scripts: timing, statistics, machine facts, output.

Standard library only. No thresholds: the scripts print what they measured
(and targets only as text next to the figures), never pass/fail.

Every timed command runs with ``PYTHONDONTWRITEBYTECODE`` removed from its
environment, so Python's bytecode cache (``__pycache__``) works as it does on a
user's machine; some shells (and CI set-ups) export it, which would make every
start-up recompile cmx's modules.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CMX = ROOT / ".venv" / "bin" / "cmx"
DEFAULT_PYTHON = ROOT / ".venv" / "bin" / "python"
# What the benchmarks keep between runs (the cmind venv and an exported cm4mlops tree, Snakemake's venv):
# $CMX_BENCH_WORKDIR, else cache/bench/ of this checkout (git-ignored). Timed homes are fresh tempfiles.
BENCH_WORKDIR = Path(os.environ.get("CMX_BENCH_WORKDIR") or ROOT / "cache" / "bench")
CM_WORKDIR = BENCH_WORKDIR / "cm"

# environment variables that change what a timed process does and must not leak in
_STRIP = ("PYTHONDONTWRITEBYTECODE", "CMX_NO_MEMO", "CMX_HOME")


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus PYTHONDONTWRITEBYTECODE (and cmx's knobs), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    env.update(extra)
    return env


def cmx_binary(path: str | None) -> Path:
    cmx = Path(path) if path else DEFAULT_CMX
    if not cmx.exists():
        sys.exit(f"no cmx at {cmx}: run `make install` first (or pass --cmx PATH)")
    return cmx


def venv_python(cmx: Path) -> Path:
    """The interpreter of the venv `cmx` belongs to (the start-up floor)."""
    py = cmx.parent / "python"
    return py if py.exists() else Path(sys.executable)


@dataclass
class Stats:
    """Wall times of one command, in seconds."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def stdev(self) -> float:
        return statistics.pstdev(self.samples) if self.n > 1 else 0.0

    def line(self, unit: str = "ms") -> str:
        f = 1000.0 if unit == "ms" else 1.0
        return (f"{self.label}: median {self.median * f:.1f} {unit} "
                f"(min {self.min * f:.1f}, max {self.max * f:.1f}, stdev {self.stdev * f:.1f}; n={self.n})")

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label, "n": self.n,
            "median_ms": round(self.median * 1000, 2), "min_ms": round(self.min * 1000, 2),
            "max_ms": round(self.max * 1000, 2), "stdev_ms": round(self.stdev * 1000, 2),
            "samples_ms": [round(s * 1000, 2) for s in self.samples],
        }


@dataclass(frozen=True)
class Command:
    """One command to time: argv, environment, working directory."""

    label: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None = None
    keep_stdout: bool = False  # capture stdout (e.g. to count plan nodes) instead of discarding it


@dataclass
class Outcome:
    seconds: float
    returncode: int
    stdout: str = ""
    stderr_tail: str = ""
    cpu_seconds: float = 0.0  # user + system CPU of the process and its children (less sensitive to load)


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(cmd: Command) -> Outcome:
    """Wall time of one run, from spawn to exit (stdout read to the end if kept), and its CPU time."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd.argv, env=cmd.env, cwd=cmd.cwd, text=True, check=False,
        stdout=subprocess.PIPE if cmd.keep_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    dt = time.perf_counter() - t0
    return Outcome(dt, proc.returncode, proc.stdout or "", (proc.stderr or "")[-2000:], _children_cpu() - cpu0)


def checked(cmd: Command) -> Outcome:
    out = run_once(cmd)
    if out.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd.argv)}` exited {out.returncode}:\n{out.stderr_tail}")
    return out


Timer = Callable[[], float]


def interleave(timers: Sequence[tuple[str, Timer]], runs: int) -> dict[str, Stats]:
    """Run every timer once per round, ``runs`` rounds, rotating the order each round.

    Alternating the commands spreads machine noise (other load, CPU frequency)
    over all of them equally, so their ratio is measured side by side.
    """
    out = {label: Stats(label) for label, _ in timers}
    k = len(timers)
    for r in range(runs):
        for j in range(k):
            label, timer = timers[(r + j) % k]
            out[label].samples.append(timer())
    return out


def command_timer(cmd: Command, check: Callable[[Outcome], None] | None = None) -> Timer:
    def timer() -> float:
        o = checked(cmd)
        if check is not None:
            check(o)
        return o.seconds

    return timer


def ratio(a: Stats, b: Stats) -> float:
    """Ratio of medians a/b."""
    return a.median / b.median


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "cmx", "automations"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted changes in cmx/ or automations/" if dirty else "")


def machine() -> dict[str, Any]:
    py = venv_python(DEFAULT_CMX) if DEFAULT_CMX.exists() else Path(sys.executable)
    try:
        pyver = subprocess.run([str(py), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pyver = platform.python_version()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "python": pyver,
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cmx_commit": git_commit(),
        "loadavg_1m": round(load[0], 2),
    }



def print_result(result: dict[str, Any], lines: list[str], as_json: bool) -> None:
    """The machine line and the report (to stderr with ``--json``, whose stdout is the JSON of the
    machine and the result)."""
    m = machine()
    out = sys.stderr if as_json else sys.stdout
    print(f"[{m['cpus']} cpus, {m['python']}, load avg (1 min) {m['loadavg_1m']}]", file=out)
    print("\n".join(lines), file=out)
    if as_json:
        print(json.dumps({"machine": m, "result": result}, indent=2))

def min_runs(runs: int, minimum: int, name: str) -> int:
    if runs < minimum:
        print(f"note: {name} needs at least {minimum} runs; using {minimum}", file=sys.stderr)
        return minimum
    return runs


def emit(result: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(lines))


def stats_json(stats: dict[str, Stats]) -> dict[str, Any]:
    return {k: v.to_json() for k, v in stats.items()}


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "Command", "Outcome", "Stats", "checked", "clean_env", "cmx_binary", "command_timer",
    "emit", "git_commit", "interleave", "machine", "min_runs", "ratio", "rmtree", "run_once", "stats_json",
    "venv_python",
]


def add_cmx_vs_cm_args(ap: Any, runs: int = 20) -> None:
    """The flags of the benchmarks that time cmx against cm side by side."""
    ap.add_argument("--runs", type=int, default=runs, help=f"interleaved rounds (>= 10; default {runs})")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--cmx", help="the cmx entry point (default: .venv/bin/cmx of this checkout)")
    ap.add_argument("--cm-repo", type=Path, default=None,
                    help="cm4mlops tree or git dir (default: $CMX_BENCH_CM_REPO; without one the CM side is skipped)")
    ap.add_argument("--cm-workdir", type=Path, default=CM_WORKDIR, help=f"default {CM_WORKDIR}")
    ap.add_argument("--no-cm", action="store_true", help="skip the CM side")
