"""CM's and MLC's customize.py contract, run through cmx without cmind or mlc installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.compat.fixtures import CM_HOOKS, MLC_HOOKS, write_repo


@pytest.fixture(autouse=True)
def _no_real_packages() -> None:
    if importlib.util.find_spec("cmind") or importlib.util.find_spec("mlc"):
        pytest.skip("cmind or mlc is installed: these tests cover cmx's stand-ins")


def test_a_cm_hook_uses_cmind_utils_os_info_and_the_automation_helpers(cmx, tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "fake-tool").write_text("1.2.3\n")
    root = write_repo(tmp_path / "cmhooks", CM_HOOKS)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmhooks:get-tool", "--env.CM_TOOL_SEARCH=" + str(tools), "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CM_TOOL_PATH"] == str(tools / "fake-tool")
    assert env["CM_TOOL_INFO"] == "linux-64-64"
    assert env["CM_TOOL_CWD_OK"] == "yes"  # hooks ran in the work folder, where run.sh ran
    assert env["CM_TOOL_VERSION"] == "1.2.3"  # exported through <<<CM_TOOL_KEY>>> in new_env_keys
    assert not any(k.startswith("CM_TMP_") for k in env)


def test_a_cm_hook_error_is_reported(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmhooks", CM_HOOKS)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmhooks:get-tool", "--env.CM_TOOL_SEARCH=" + str(tmp_path / "none"))
    assert res.code == 1 and "fake-tool not found" in res.err, res.err


def test_an_mlc_hook_uses_mlc_utils_and_the_repositorys_own_utils(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "mlchooks", MLC_HOOKS)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "--tags=mlchooks:say,mode", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["MLC_SAY_TEXT"] == env["MLC_SAY_BACK"] == "LOUD"
    assert env["MLC_SAY_SCRIPT_PATH_OK"] == "True"
    res = cmx("run", "script", "--tags=mlchooks:say,mode", "--env.MLC_SAY_LOUD=no", "-j")
    assert res.code == 0 and res.json["new_env"]["MLC_SAY_BACK"] == "quiet", res.err
