"""The real repositories, run by cmx and by the tools they were written for, side by side: the exported
env and state of `detect,os`, `get,python3`, `detect,cpu`, `detect,sudo`, `get,sys-utils-min` (and
`print,any-text`, which only cm4mlops has) from mlcommons/cm4mlops (cmx vs cm, cmind) and from
mlcommons/mlperf-automations (cmx vs mlc, mlcflow), on this machine, with the same PATH.

Needs checkouts of the repositories (CMX_TEST_CM4MLOPS, CMX_TEST_MLPERF_AUTOMATIONS: their folders) and
a Python with cmind and/or mlcflow (CMX_TEST_CM_PYTHON, else the interpreter running the tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cmx

# cmind's and mlcflow's Python API: one run per tags, one JSON line per run
_PROBE = """
import json, sys
tool = sys.argv[1]
if tool == "cm":
    import cmind
    access = lambda tags: cmind.access({"action": "run", "automation": "script", "tags": tags, "quiet": True})
else:
    import mlc
    access = lambda tags: mlc.access({"action": "run", "target": "script", "tags": tags, "quiet": True})
for tags in sys.argv[2:]:
    r = access(tags)
    print(json.dumps({"tags": tags, "return": r.get("return"), "error": r.get("error"),
                      "new_env": r.get("new_env"), "new_state": r.get("new_state")}, default=str))
"""

CASES = {
    "cm": ("CMX_TEST_CM4MLOPS", "cmind", "CM_REPOS"),
    "mlc": ("CMX_TEST_MLPERF_AUTOMATIONS", "mlc", "MLC_REPOS"),
}


def _python_with(module: str, cwd: Path) -> str | None:
    python = os.environ.get("CMX_TEST_CM_PYTHON") or sys.executable
    # in a temporary folder: importing mlc writes .mlc-log.txt into the current one
    ok = subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=cwd).returncode == 0
    return python if ok else None


def _tool_runs(tool: str, python: str, checkout: Path, tmp: Path, env: dict[str, str],
               tags: list[str]) -> dict[str, Any]:
    _, _, repos_var = CASES[tool]
    home = tmp / f"{tool}-home"
    (home / "local").mkdir(parents=True)
    # the tool's own registry of repositories, in a temporary folder: its local repository and the checkout
    (home / "repos.json").write_text(json.dumps([str(home / "local"), str(checkout)] if tool == "mlc" else [str(checkout)]))
    proc = subprocess.run([python, "-c", _PROBE, tool, *tags], capture_output=True, text=True, cwd=tmp,
                          env={**env, repos_var: str(home)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            got = json.loads(line)
            runs[got["tags"]] = got
    return runs


@pytest.mark.parametrize("tool", sorted(CASES))
def test_detect_os_and_get_python3_export_what_cm_and_mlc_export(tool: str, tmp_path: Path) -> None:
    env_var, module, _ = CASES[tool]
    checkout = os.environ.get(env_var)
    if not checkout:
        pytest.skip(f"set {env_var} to a checkout of the repository to compare with {tool}")
    python = _python_with(module, tmp_path)
    if python is None:
        pytest.skip(f"{module} is not installed (pip install it, or set CMX_TEST_CM_PYTHON to a Python that has it)")
    tags = ["detect,os", "get,python3", "detect,cpu", "detect,sudo", "get,sys-utils-min"]
    if tool == "cm":
        tags.append("print,any-text")
    # one PATH for both tools, so they find the same interpreter
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    theirs = _tool_runs(tool, python, Path(checkout), tmp_path, env, tags)
    home = tmp_path / "cmx-home"
    home.mkdir()
    assert run_cmx("add", "repo", checkout, "--alias=theirs", home=home, env=env).code == 0
    for t in tags:
        assert theirs[t]["return"] == 0, theirs[t]
        ours = run_cmx("run", "script", f"--tags=theirs:{t}", "-j", home=home, env=env)
        assert ours.code == 0, ours.err
        assert ours.json["new_env"] == theirs[t]["new_env"], t
        assert ours.json["new_state"] == theirs[t]["new_state"], t
