"""Shared helpers of the FlexBench benchmarks (``benchmarks/flexbench_*.py``).

Standard library only: these scripts run with cmx's own venv python and start
the *benchmark venv* (torch, transformers, mlcommons-loadgen) as subprocesses.
The benchmark venv, the SmolLM2 model folder and the mini dataset are found
through cmx recipes (``get,python,venv,_name.flexbench``, ``get,ml-model,smollm2``,
``get,dataset,flexbench-mini``), in ``--cmx-home`` (default: ``$CMX_HOME``, else
``cache/test-flexbench-home`` of this checkout if it exists, else the checkout's
own cache). ``--venv-python`` / ``--model-path`` / ``--dataset-path`` skip that.

No thresholds: the scripts print measured figures, and targets only as text.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, clean_env, machine  # noqa: E402

sys.path.insert(0, str(ROOT))

from flexbench.loadgen_log import parse_detail, summarize  # noqa: E402  (stdlib-only module)

TEST_HOME = ROOT / "cache" / "test-flexbench-home"
CMX = ROOT / ".venv" / "bin" / "cmx"


@dataclass(frozen=True)
class BenchEnv:
    """Where the benchmark venv, model and dataset are."""

    python: str
    model_path: str
    dataset_path: str
    cmx_home: str | None


def _recipe_env(tags: str, key: str, cmx_home: str | None) -> str:
    env = clean_env()
    if cmx_home:
        env["CMX_HOME"] = cmx_home
    proc = subprocess.run([str(CMX), "run", "script", f"--tags={tags}", "-j"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        sys.exit(f"`cmx run script --tags={tags} -j` failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    value = (json.loads(proc.stdout).get("new_env") or {}).get(key)
    if not value:
        sys.exit(f"`cmx run script --tags={tags} -j` gave no {key}")
    return str(value)


def default_cmx_home() -> str | None:
    if os.environ.get("CMX_HOME"):
        return os.environ["CMX_HOME"]
    return str(TEST_HOME) if TEST_HOME.is_dir() else None


def resolve(cmx_home: str | None, python: str | None = None, model_path: str | None = None,
            dataset_path: str | None = None, need_model: bool = True) -> BenchEnv:
    py = python or _recipe_env("get,python,venv,_name.flexbench", "CMX_VENV_PYTHON", cmx_home)
    model = model_path or (_recipe_env("get,ml-model,smollm2", "CMX_ML_MODEL_PATH", cmx_home) if need_model else "")
    data = dataset_path or _recipe_env("get,dataset,flexbench-mini", "CMX_DATASET_PATH", cmx_home)
    return BenchEnv(py, model, data, cmx_home)


def add_env_args(ap: Any) -> None:
    ap.add_argument("--cmx-home", default=None,
                    help="CMX_HOME holding the benchmark venv and model (default: $CMX_HOME, else "
                         "cache/test-flexbench-home if present, else the checkout's cache)")
    ap.add_argument("--venv-python", default=None, help="the benchmark venv's python (skips the recipe)")
    ap.add_argument("--model-path", default=None, help="a HF model folder (skips get,ml-model,smollm2)")
    ap.add_argument("--dataset-path", default=None, help="an OpenOrca-format file (skips get,dataset,flexbench-mini)")


def env_from_args(a: Any, need_model: bool = True) -> BenchEnv:
    return resolve(a.cmx_home or default_cmx_home(), a.venv_python, a.model_path, a.dataset_path, need_model)


def subprocess_env(threads: int | None = None) -> dict[str, str]:
    """The environment of a timed benchmark-venv process: no PYTHONDONTWRITEBYTECODE, flexbench importable."""
    env = clean_env(PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="false", TRANSFORMERS_VERBOSITY="error",
                    HF_HUB_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def write_user_conf(path: Path, conf_model: str, *, min_query_count: int, performance_sample_count: int,
                    target_qps: float = 1.0, min_duration_ms: int = 0) -> None:
    """The Offline user.conf that ``flexbench/user.conf.j2`` renders for these values."""
    path.write_text(
        f"{conf_model}.Offline.min_duration = {min_duration_ms}\n"
        f"{conf_model}.Offline.min_query_count = {min_query_count}\n"
        f"{conf_model}.*.performance_sample_count_override = {performance_sample_count}\n"
        f"{conf_model}.*.use_token_latencies = 1\n"
        f"{conf_model}.Offline.target_qps = {target_qps}\n", encoding="utf-8")


@dataclass
class ProcResult:
    seconds: float
    out_dir: Path
    loadgen: dict[str, Any]
    info: dict[str, Any]


def run_flexbench_test(py: str, cfg: dict[str, Any], out_dir: Path, env: dict[str, str]) -> ProcResult:
    """One ``python -m flexbench.run_test CONFIG.json`` (one LoadGen test) in the benchmark venv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = dict(cfg, out_dir=str(out_dir))
    cfg_path = out_dir / "config.json"
    cfg_path.write_text(json.dumps(cfg, indent=1))
    t0 = time.perf_counter()
    proc = subprocess.run([py, "-m", "flexbench.run_test", str(cfg_path)], env=env, cwd=str(out_dir), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"flexbench.run_test {cfg_path} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    info = json.loads((out_dir / "run_info.json").read_text())
    return ProcResult(dt, out_dir, summarize(parse_detail(out_dir / "mlperf_log_detail.txt")), info)


def run_json_script(py: str, argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, dict[str, Any]]:
    """Run a helper script in the benchmark venv; it prints one JSON object as its last stdout line."""
    t0 = time.perf_counter()
    proc = subprocess.run([py, *argv], env=env, cwd=str(cwd), text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return dt, json.loads(proc.stdout.strip().splitlines()[-1])


@dataclass
class Series:
    """Repeated measurements of one figure (a rate, a ratio ...)."""

    label: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def stdev(self) -> float:
        return statistics.pstdev(self.values) if len(self.values) > 1 else 0.0

    def line(self, fmt: str = ",.1f") -> str:
        return (f"{self.label}: median {self.median:{fmt}} {self.unit} (min {self.min:{fmt}}, max {self.max:{fmt}}, "
                f"stdev {self.stdev:{fmt}}; n={len(self.values)})")

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "unit": self.unit, "n": len(self.values), "median": self.median,
                "min": self.min, "max": self.max, "stdev": self.stdev, "values": self.values}


def _cpu_busy_s() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process's waited-for children)."""
    with open("/proc/stat", encoding="ascii") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = (sum(f[:8]) - f[3] - f[4]) / hz  # all but idle and iowait (guest time is inside user)
    t = os.times()
    return busy, t.children_user + t.children_system


def idle_fraction(seconds: float = 1.0) -> float:
    b0, _ = _cpu_busy_s()
    time.sleep(seconds)
    b1, _ = _cpu_busy_s()
    return max(0.0, 1.0 - (b1 - b0) / (seconds * (os.cpu_count() or 1)))


def wait_idle(min_idle: float, max_wait_s: float) -> float:
    """Wait (up to ``max_wait_s``) until the machine is at least ``min_idle`` idle; returns the last idle share."""
    t0 = time.monotonic()
    idle = idle_fraction()
    while idle < min_idle and time.monotonic() - t0 < max_wait_s:
        time.sleep(2.0)
        idle = idle_fraction()
    return idle


@dataclass
class Round:
    """What else the machine did while one task ran: the average number of cores busy with other work."""

    name: str
    round: int
    seconds: float
    foreign_cores: float
    idle_before: float


def rotate(tasks: Sequence[tuple[str, Callable[[], None]]], runs: int, log: bool = True, *,
           min_idle: float = 0.0, max_wait_s: float = 0.0) -> list[Round]:
    """Run every task once per round, ``runs`` rounds, rotating the order each round (side by side).

    Before each task it waits (at most ``max_wait_s``) for the machine to be ``min_idle`` idle, and it
    records how many cores other processes kept busy during the task (``/proc/stat`` minus our children).
    """
    k = len(tasks)
    rounds: list[Round] = []
    for r in range(runs):
        for j in range(k):
            name, task = tasks[(r + j) % k]
            idle = wait_idle(min_idle, max_wait_s) if min_idle > 0 else -1.0
            b0, c0 = _cpu_busy_s()
            t0 = time.perf_counter()
            task()
            dt = time.perf_counter() - t0
            b1, c1 = _cpu_busy_s()
            foreign = max(0.0, ((b1 - b0) - (c1 - c0)) / dt)
            rounds.append(Round(name, r + 1, dt, foreign, idle))
            if log:
                print(f"  round {r + 1}/{runs}: {name} ({dt:.1f} s; other load {foreign:.2f} cores"
                      f"{f', idle before {idle:.0%}' if idle >= 0 else ''})", file=sys.stderr, flush=True)
    return rounds


def noise_json(rounds: Sequence[Round]) -> dict[str, Any]:
    by: dict[str, list[float]] = {}
    for x in rounds:
        by.setdefault(x.name, []).append(x.foreign_cores)
    return {"foreign_cores_by_task": by,
            "foreign_cores_median": {k: statistics.median(v) for k, v in by.items()}}


def noise_line(noise: dict[str, Any]) -> str:
    med = noise["foreign_cores_median"]
    worst = max((max(v) for v in noise["foreign_cores_by_task"].values()), default=0.0)
    return ("  other load during the runs (cores busy with other processes, median): "
            + ", ".join(f"{k} {v:.2f}" for k, v in med.items()) + f"; worst {worst:.2f}")


def add_noise_args(ap: Any) -> None:
    ap.add_argument("--min-idle", type=float, default=0.8,
                    help="before each run, wait until the machine is this idle (0-1; default 0.8; 0: never wait)")
    ap.add_argument("--max-wait", type=float, default=120.0, help="longest wait for idleness per run (s)")


def header(title: str) -> dict[str, Any]:
    m = machine()
    m["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    m["title"] = title
    return m


def machine_line(m: dict[str, Any]) -> str:
    return (f"[{m['date']}, {m['cpus']} cpus, {m['platform']}, cmx {m['cmx_commit']}, "
            f"load avg (1 min) {m['loadavg_1m']}]")


def emit(result: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print("\n".join(lines), file=sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(lines))


def bench_main(doc: str | None, argv: Sequence[str] | None, *, runs: int, runs_help: str,
               add_args: Callable[[Any], None], measure: Callable[[Any], dict[str, Any]],
               report: Callable[[dict[str, Any]], list[str]],
               bare_worker: Callable[[str], int] | None = None) -> int:
    """The command line every FlexBench benchmark shares: ``--runs``, ``--json``, the script's own
    flags, the benchmark-venv and noise flags; then measure and print (``--bare-worker PATH`` is
    the subprocess entry of scripts that time a bare loop)."""
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    if bare_worker is not None and argv[:1] == ["--bare-worker"]:
        return bare_worker(argv[1])
    ap = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    ap.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default {runs})")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    add_args(ap)
    add_env_args(ap)
    add_noise_args(ap)
    a = ap.parse_args(argv)
    res = measure(a)
    emit(res, a.json, report(res))
    return 0


@contextlib.contextmanager
def work_dir(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary work folder for one benchmark: removed afterwards unless ``--keep``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
