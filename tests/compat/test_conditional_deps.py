"""A dependency enabled by env that an earlier step produces is planned as conditional and decided
at run time, instead of being expanded up front into a false dependency cycle."""

from __future__ import annotations

from pathlib import Path

from tests.compat.fixtures import CM_CONDITIONAL, write_repo


def test_a_conditional_cycle_plans_and_runs_when_the_condition_is_false(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmcond", CM_CONDITIONAL)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmcond:get-thing", "--dry-run", "-j")
    assert res.code == 0, res.err
    (node,) = [n for n in res.json["plan"] if n["recipe"] == "get-thing"]
    (deferred,) = node["deferred"]
    assert deferred["phase"] == "prehook_deps" and deferred["if"] == {"enable_if_env": {"CM_REQUIRE_INSTALL": ["yes"]}}
    assert "dependency cycle" in deferred["reason"]
    text = cmx("run", "script", "cmcond:get-thing", "--dry-run")
    assert "conditional, planned at run time: prehook_deps 'install,thing'" in text.out, text.out
    res = cmx("run", "script", "cmcond:get-thing", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_THING_FOUND"] == "yes"


def test_a_conditional_dependency_that_holds_at_run_time_is_a_clear_error(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmcond", CM_CONDITIONAL)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmcond:get-thing", "--env.CM_THING_MISSING=yes")
    assert res.code == 1
    assert "the conditional dependency prehook_deps 'install,thing'" in res.err
    assert "holds, but it could not be planned: dependency cycle" in res.err, res.err


def test_an_unconditional_cycle_is_still_an_error(cmx, tmp_path: Path) -> None:
    files = dict(CM_CONDITIONAL)
    files["script/get-thing/_cm.yaml"] = files["script/get-thing/_cm.yaml"].split("    enable_if_env:")[0]
    root = write_repo(tmp_path / "cmcond", files)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "cmcond:get-thing", "--dry-run")
    assert res.code == 2 and "dependency cycle" in res.err, res.err
