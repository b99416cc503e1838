"""The real repositories, run by cmx and by the tools they were written for, side by side: the exported
env and state of the recipes issue 15 names (docs/compat.md "The 13 recipes of the issue") from
mlcommons/cm4mlops (cmx vs cm, cmind) and from mlcommons/mlperf-automations (cmx vs mlc, mlcflow), on
this machine, with the same PATH. Paths are masked: each tool puts its cache and run folders under its
own home, all inside the test's temporary folder.

Needs checkouts of the repositories (CMX_TEST_CM4MLOPS, CMX_TEST_MLPERF_AUTOMATIONS: their folders) and
a Python with cmind and/or mlcflow (CMX_TEST_CM_PYTHON, else the interpreter running the tests)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cmx

# cmind's and mlcflow's Python API: one run per JSON request ({"tags", "env", "input"}), one JSON line each
_PROBE = """
import json, sys
tool = sys.argv[1]
if tool == "cm":
    import cmind
    access = lambda req: cmind.access({"action": "run", "automation": "script", "quiet": True, **req})
else:
    import mlc
    access = lambda req: mlc.access({"action": "run", "target": "script", "quiet": True, **req})
for arg in sys.argv[2:]:
    req = json.loads(arg)
    r = access(req)
    print(json.dumps({"tags": req["tags"], "return": r.get("return"), "error": r.get("error"),
                      "new_env": r.get("new_env"), "new_state": r.get("new_state")}, default=str))
"""

CASES = {
    "cm": ("CMX_TEST_CM4MLOPS", "cmind", "CM_REPOS", "CM_"),
    "mlc": ("CMX_TEST_MLPERF_AUTOMATIONS", "mlc", "MLC_REPOS", "MLC_"),
}


def _python_with(module: str, cwd: Path) -> str | None:
    python = os.environ.get("CMX_TEST_CM_PYTHON") or sys.executable
    # in a temporary folder: importing mlc writes .mlc-log.txt into the current one
    ok = subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=cwd).returncode == 0
    return python if ok else None


def _tool_runs(tool: str, python: str, checkout: Path, tmp: Path, env: dict[str, str],
               requests: list[dict[str, Any]]) -> dict[str, Any]:
    repos_var = CASES[tool][2]
    home = tmp / f"{tool}-home"
    (home / "local").mkdir(parents=True)
    work = tmp / f"{tool}-work"  # where the tool runs its recipes (cm: the current folder)
    work.mkdir()
    # the tool's own registry of repositories, in a temporary folder: its local repository and the checkout
    (home / "repos.json").write_text(json.dumps([str(home / "local"), str(checkout)] if tool == "mlc" else [str(checkout)]))
    proc = subprocess.run([python, "-c", _PROBE, tool, *(json.dumps(r) for r in requests)], capture_output=True,
                          text=True, cwd=work, env={**env, repos_var: str(home)}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            got = json.loads(line)
            runs[got["tags"]] = got
    return runs


def _masked(value: Any, tmp: Path) -> Any:
    """``value`` with every path inside the test's folder (either tool's home, cache and run folders, the
    local git repository) as ``<tmp>``."""
    if isinstance(value, dict):
        return {k: _masked(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, tmp) for v in value]
    if isinstance(value, str):
        return re.sub(re.escape(str(tmp)) + r"[^\s'\";:]*", "<tmp>", value)
    return value


def _local_git_repo(path: Path) -> Path:
    """A git repository with one commit on `master`, for get-git-repo's `_repo.file://...`."""
    path.mkdir()
    (path / "README.md").write_text("fixture\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=master"]
    for args in (["init", "-q"], ["add", "README.md"], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], cwd=path, check=True, capture_output=True)
    return path


def _requests(tool: str, tmp: Path) -> list[dict[str, Any]]:
    prefix = CASES[tool][3]
    git_repo = _local_git_repo(tmp / "git-repo")
    reqs: list[dict[str, Any]] = [{"tags": t} for t in (
        "detect,os", "get,python3", "detect,cpu", "detect,sudo", "get,sys-utils-min",
        "get,cache,dir,_name.compat-test", "get,generic-python-lib,_package.pyyaml")]
    if shutil.which("wget"):  # _detect runs `wget --version` (without it, the _install step needs sudo)
        reqs.append({"tags": "get,generic-sys-util,_detect,_wget"})
    reqs.append({"tags": f"get,git,repo,_repo.file://{git_repo},_branch.master"})
    # the program it benchmarks, given as its run command and folder (without them it runs ./run.out,
    # which is absent: cm and cmx fail alike, exit 127)
    bench = tmp / "bench-dir"
    bench.mkdir()
    reqs.append({"tags": "benchmark-program,program",
                 "env": {f"{prefix}RUN_CMD": "echo benchmarked", f"{prefix}RUN_DIR": str(bench)}})
    if tool == "cm":  # only cm4mlops has them
        reqs += [{"tags": "print,any-text"}, {"tags": "print,hello-world"}, {"tags": "print,hello-world,python"}]
    return reqs


@pytest.mark.parametrize("tool", sorted(CASES))
def test_the_issues_recipes_export_what_cm_and_mlc_export(tool: str, tmp_path: Path) -> None:
    env_var, module, _, _ = CASES[tool]
    checkout = os.environ.get(env_var)
    if not checkout:
        pytest.skip(f"set {env_var} to a checkout of the repository to compare with {tool}")
    python = _python_with(module, tmp_path)
    if python is None:
        pytest.skip(f"{module} is not installed (pip install it, or set CMX_TEST_CM_PYTHON to a Python that has it)")
    requests = _requests(tool, tmp_path)
    # one PATH for both tools, so they find the same interpreter
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("CMX_HOME", None)
    theirs = _tool_runs(tool, python, Path(checkout), tmp_path, env, requests)
    home = tmp_path / "cmx-home"
    home.mkdir()
    assert run_cmx("add", "repo", checkout, "--alias=theirs", home=home, env=env).code == 0
    differ = []
    for req in requests:
        t = req["tags"]
        assert theirs[t]["return"] == 0, theirs[t]
        flags = [f"--env.{k}={v}" for k, v in (req.get("env") or {}).items()]
        ours = run_cmx("run", "script", f"--tags=theirs:{t}", *flags, "-j", home=home, env=env)
        assert ours.code == 0, (t, ours.err[-3000:])
        for what in ("new_env", "new_state"):
            if _masked(ours.json[what], tmp_path) != _masked(theirs[t][what], tmp_path):
                differ.append((t, what, _masked(ours.json[what], tmp_path), _masked(theirs[t][what], tmp_path)))
    assert not differ, "\n".join(f"{t} {what}:\n  cmx:  {a}\n  {tool}: {b}" for t, what, a, b in differ)
