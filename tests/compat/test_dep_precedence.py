"""A CM/MLC recipe's dependencies are chosen in its own repository first, as cm and mlc choose them
(they know only the repositories the user pulled); then by the precedence, built-ins first. Our
commands and our recipes' dependencies never change (docs/user-guide.md#precedence)."""

from __future__ import annotations

from pathlib import Path

from tests.compat.fixtures import CM_OWN_DEPS, write_repo

BUILTIN_DETECT_OS = "863735b7db8c44fc"
OWN_DETECT_OS = "9b5b2c3d4e5f6a01"


def test_a_cm_recipe_gets_its_own_repositorys_dependency_first(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmown", CM_OWN_DEPS)
    assert cmx("add", "repo", str(root)).code == 0
    plan = cmx("run", "script", "cmown:say-os-name", "--dry-run", "-j")
    assert plan.code == 0, plan.err
    uids = {n["recipe"]: n["uid"] for n in plan.json["plan"]}
    # detect,os from its own repository; get,python3, which it lacks, is the built-in recipe
    assert uids["detect-os"] == OWN_DETECT_OS and "get-python3" in uids, uids
    builtin = {r["uid"] for r in cmx("find", "script", "--tags=builtin:", "-j").json["list"]}
    assert uids["get-python3"] in builtin
    res = cmx("run", "script", "cmown:say-os-name", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"] == {"CM_SAID_OS": "cmown-os"}


def test_our_commands_and_recipes_keep_the_builtin_dependency(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmown", CM_OWN_DEPS)
    assert cmx("add", "repo", str(root)).code == 0
    plan = cmx("run", "script", "--tags=detect,os", "--dry-run", "-j").json["plan"]
    assert [n["uid"] for n in plan] == [BUILTIN_DETECT_OS]
    # a built-in recipe that depends on detect,os
    plan = cmx("run", "script", "--tags=print,hello-world", "--dry-run", "-j")
    assert plan.code == 0, plan.err
    builtin = {r["uid"] for r in cmx("find", "script", "--tags=builtin:", "-j").json["list"]}
    assert {n["uid"] for n in plan.json["plan"]} <= builtin
    assert BUILTIN_DETECT_OS in {n["uid"] for n in plan.json["plan"]}
