"""The measured workload: a cmx recipe (``--workload_tags``) or any command (``--command``),
run as an argv list (never through a shell), and where its LoadGen logs ended up."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from cmx.envutil import is_secret
from flexbench.power import PowerError
from flexbench.power.window import DETAIL

HIDDEN = "***"


@dataclass(frozen=True)
class Workload:
    argv: tuple[str, ...]
    is_recipe: bool
    loadgen_logs: Path | None = None  # where the command writes LoadGen's logs (required for a command)
    env: tuple[tuple[str, str], ...] = ()  # set on top of our environment


@dataclass(frozen=True)
class ResultDir:
    """``root`` gets power.json; ``perf`` holds mlperf_log_detail.txt and gets power/, ranging/, spl.txt."""

    root: Path
    perf: Path

    @property
    def detail(self) -> Path:
        return self.perf / DETAIL

    @property
    def result_json(self) -> Path:
        return self.root / "result.json"


@dataclass(frozen=True)
class WorkloadRun:
    argv: tuple[str, ...]
    started: float
    ended: float
    exit_code: int
    result: ResultDir


def public_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """``argv`` as it may be written down: the value of ``--NAME=v`` / ``--env.NAME=v`` is hidden
    when NAME is a secret's name (HF_TOKEN, OPENAI_API_KEY...), by cmx's own rule."""
    out = []
    for a in argv:
        flag, eq, _ = a.partition("=")
        name = flag[2:].removeprefix("env.") if flag.startswith("--") else ""
        out.append(f"{flag}={HIDDEN}" if eq and name and is_secret(name) else a)
    return tuple(out)


def recipe_workload(python: str, tags: str, args: Sequence[str], home: str | None = None) -> Workload:
    if not tags.strip():
        raise PowerError("--workload_tags is empty")
    for a in args:
        if not isinstance(a, str) or not a.startswith("--"):
            raise PowerError(f"--workload_args: every item must be a '--name=value' string, got {a!r}")
        if a in ("-j", "--json") or a.startswith("--tags"):
            raise PowerError(f"--workload_args: {a!r} is set by collect,power itself")
    env = (("CMX_HOME", home),) if home else ()
    return Workload((python, "-m", "cmx.cli.main", "run", "script", f"--tags={tags}", *args, "-j"), True, None, env)


def command_workload(argv: Sequence[str], loadgen_logs: str | None) -> Workload:
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise PowerError("--command must be a JSON list of non-empty strings, e.g. '[\"python\", \"bench.py\"]'")
    if not loadgen_logs:
        raise PowerError("--command needs --loadgen_logs=DIR (where the command writes mlperf_log_detail.txt)")
    return Workload(tuple(argv), False, Path(loadgen_logs).expanduser().resolve())


def locate(path: Path) -> ResultDir:
    """A FlexBench result folder (``performance/`` inside), a LoadGen log folder, or result.json."""
    path = path.expanduser().resolve()
    if path.is_file() and path.name == "result.json":
        path = path.parent
    if (path / "performance" / DETAIL).is_file():
        return ResultDir(path, path / "performance")
    if (path / DETAIL).is_file():
        return ResultDir(path, path)
    raise PowerError(f"no LoadGen log in {path}: expected {DETAIL} there or in {path / 'performance'}")


def _result_from_json(stdout: str, argv: Sequence[str]) -> Path:
    try:
        out = json.loads(stdout)
    except ValueError:
        shown = " ".join(public_argv(argv)[3:])
        raise PowerError(f"the workload recipe printed no JSON (-j) on stdout: {shown}") from None
    env = out.get("new_env") or {}
    path = env.get("CMX_FLEXBENCH_RESULT") or env.get("CMX_FLEXBENCH_OUT_DIR")
    if not path:
        raise PowerError(f"the workload recipe ({out.get('recipe')}) exported no CMX_FLEXBENCH_RESULT; "
                         f"give --loadgen_logs=DIR or run a FlexBench recipe")
    return Path(path)


def run(workload: Workload, loadgen_logs: Path | None = None) -> WorkloadRun:
    """Runs the workload to its end; its stderr (and a command's stdout) go to ours."""
    started = time.time()
    try:
        proc = subprocess.run(list(workload.argv), stdout=subprocess.PIPE if workload.is_recipe else None,
                              text=True, check=False, env={**os.environ, **dict(workload.env)})
    except OSError as exc:
        raise PowerError(f"cannot start the workload {workload.argv[0]!r}: {exc}") from None
    ended = time.time()
    if proc.returncode != 0:
        raise PowerError(f"the workload exited with code {proc.returncode}: {' '.join(public_argv(workload.argv))}")
    where = loadgen_logs or workload.loadgen_logs
    if where is None:
        where = _result_from_json(proc.stdout or "", workload.argv)
    result = locate(where)
    if result.detail.stat().st_mtime < started - 1.0:
        raise PowerError(f"{result.detail} is older than this run: the workload did not write its LoadGen logs there")
    return WorkloadRun(workload.argv, started, ended, proc.returncode, result)
