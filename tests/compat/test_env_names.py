"""CM_/MLC_/CMX_ env names side by side for CM/MLC recipes (cmx/compat/envmap.py)."""

from __future__ import annotations

from pathlib import Path

from cmx.compat.envmap import mirror, twins
from tests.compat.fixtures import write_repo

CM_READS_OS = {
    "cmr.yaml": "alias: cmos\ngit: true\n",
    "script/say-os/_cm.yaml": """
        alias: say-os
        uid: 9f1b2c3d4e5f6a01
        automation_alias: script
        tags: [say, os]
        deps:
          - tags: detect,os
          - tags: say,linux
            enable_if_env:
              CM_HOST_OS_TYPE: [linux]
        new_env_keys: [CM_SAY_*]
        """,
    "script/say-linux/_cm.yaml": """
        alias: say-linux
        uid: 9f1b2c3d4e5f6a02
        automation_alias: script
        tags: [say, linux]
        new_env_keys: [CM_SAY_*]
        """,
    "script/say-linux/run.sh": 'echo "CM_SAY_LINUX=yes" > tmp-run-env.out\n',
    "script/say-os/customize.py": """
        def preprocess(i):
            i['env']['CM_SAY_FROM_HOOK'] = i['env']['CM_HOST_OS_TYPE']
            return {'return': 0}
        """,
    "script/say-os/run.sh": 'echo "CM_SAY_FROM_SCRIPT=$MLC_HOST_OS_TYPE" > tmp-run-env.out\n',
}


def test_twins() -> None:
    assert twins("CMX_HOST_OS_TYPE") == ["CM_HOST_OS_TYPE", "MLC_HOST_OS_TYPE"]
    assert twins("MLC_PYTHON_BIN") == ["CMX_PYTHON_BIN", "CM_PYTHON_BIN"]
    assert twins("+CM_HOST_OS_DEFAULT_LIBRARY_PATH")[0] == "+CMX_HOST_OS_DEFAULT_LIBRARY_PATH"
    assert twins("PATH") == []
    env = {"CM_X": "mine"}
    mirror(env, {"CMX_X": "dep", "MLC_Y": "y"})
    assert env == {"CM_X": "mine", "MLC_X": "dep", "CMX_Y": "y", "CM_Y": "y"}


def test_a_cm_recipe_reads_the_builtin_detect_os_under_cm_and_mlc_names(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmos", CM_READS_OS)
    assert cmx("add", "repo", str(root)).code == 0
    builtin = cmx("run", "script", "--tags=detect,os", "-j").json["new_env"]["CMX_HOST_OS_TYPE"]
    res = cmx("run", "script", "cmos:say-os", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_SAY_FROM_HOOK"] == res.json["new_env"]["CM_SAY_FROM_SCRIPT"] == builtin
    # the second dependency's condition reads CM_HOST_OS_TYPE, which only the first one's outputs give
    # (under its CMX_ name): decided at run time, not dropped when planning
    assert (res.json["new_env"].get("CM_SAY_LINUX") == "yes") == (builtin == "linux")
