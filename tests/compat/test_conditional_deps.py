"""A dependency enabled by env that an earlier step produces is planned as conditional and decided
at run time, instead of being expanded up front into a false dependency cycle."""

from __future__ import annotations

from pathlib import Path

from tests.compat.fixtures import CM_CONDITIONAL, CM_HOOK_TAGS, CM_LATE, CM_PROBE_BEHIND_CONDITION, write_repo


def _register(cmx, root: Path, files: dict[str, str]) -> None:
    write_repo(root, files)
    assert cmx("add", "repo", str(root)).code == 0


def test_a_conditional_cycle_plans_and_runs_when_the_condition_is_false(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmcond", CM_CONDITIONAL)
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


def test_a_run_time_dependency_that_needs_its_running_dependent_again_is_a_clear_error(cmx, tmp_path: Path) -> None:
    # install-thing's post-dependency get,thing is get-thing again, and gets CM_REQUIRE_INSTALL=yes from
    # install-thing's env (CM's shared env, as cm passes it): it needs install-thing again, still running
    _register(cmx, tmp_path / "cmcond", CM_CONDITIONAL)
    res = cmx("run", "script", "cmcond:get-thing", "--env.CM_THING_MISSING=yes")
    assert res.code == 1
    assert "recipe 'install-thing' failed: a dependency cycle at run time: it is already running" in res.err, res.err


def test_conditional_dependencies_that_hold_at_run_time_are_planned_then_and_run(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmlate", CM_LATE)
    plan = cmx("run", "script", "cmlate:get-gadget", "--dry-run", "-j")
    assert plan.code == 0, plan.err
    node = plan.json["plan"][-1]  # the root (the installer's post-dependency get,gadget is another node: it
    assert node["recipe"] == "get-gadget"  # gets the installer's env, CM's shared env, and skips itself on it)
    assert [d["tags"] for d in node["deferred"]] == ["get,gadget-<<<CM_GADGET_PART>>>"]  # not selectable before preprocess runs
    # the condition is false: nothing of it runs
    res = cmx("run", "script", "cmlate:get-gadget", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_GADGET_SEEN"] == "none"
    assert "CM_GADGET_PART_FOUND" not in res.json["new_env"]
    # it holds: the installer is planned on the env preprocess set (its _flavor.blue), and runs with its own
    # dependency; the part's tags are known now. The installer's post-dependency is switched off by its env.
    res = cmx("run", "script", "cmlate:get-gadget", "--env.CM_GADGET_MISSING=yes", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CM_GADGET_INSTALLED_FLAVOR"] == "blue:ok"
    assert env["CM_GADGET_SEEN"] == "blue:ok"
    assert env["CM_GADGET_PART_FOUND"] == "yes"
    # the installer is cached like any node: the second run finds it
    again = cmx("run", "script", "cmlate:get-gadget", "--env.CM_GADGET_MISSING=yes", "-j")
    assert again.code == 0, again.err
    assert again.json["new_env"] == env
    assert "install-gadget(_flavor.blue)" in again.err and "cached" in again.err, again.err


def test_an_unconditional_cycle_is_still_an_error(cmx, tmp_path: Path) -> None:
    files = dict(CM_CONDITIONAL)
    files["script/get-thing/_cm.yaml"] = files["script/get-thing/_cm.yaml"].split("    enable_if_env:")[0]
    _register(cmx, tmp_path / "cmcond", files)
    res = cmx("run", "script", "cmcond:get-thing", "--dry-run")
    assert res.code == 2 and "dependency cycle" in res.err, res.err


def test_a_probe_behind_a_false_condition_never_runs(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmprobe", CM_PROBE_BEHIND_CONDITION)
    res = cmx("run", "script", "cmprobe:get-snake", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"] == {"CM_SNAKE_FOUND": "yes"}
    ran = {n["recipe"] for n in res.json["plan"] if n["status"] == "run"}
    assert ran == {"get-snake"}, res.json["plan"]
    # the key is the one the dry run shows (the probe counts by what it is, not by its output)
    dry = cmx("run", "script", "cmprobe:get-snake", "--dry-run", "-j")
    assert [n["key"] for n in dry.json["plan"] if n["recipe"] == "get-snake"] == [res.json["key"]]
    # when the condition holds, the probe runs and refuses the version, naming who asked
    res = cmx("run", "script", "cmprobe:get-snake", "--env.CM_SNAKE_INSTALL=yes")
    assert res.code == 1 and "1.0.1" in res.err, res.err


def test_a_hook_dependency_gets_the_tags_computed_after_preprocess(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmhook", CM_HOOK_TAGS)
    res = cmx("run", "script", "cmhook:get-src", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_CHECKOUT_GOT"] == "master"  # not 'none' (the tags planned before preprocess)
    res = cmx("run", "script", "cmhook:get-src", "--env.CM_SRC_WANT=main", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_CHECKOUT_GOT"] == "main"
    assert "get-checkout(_branch.main)" in res.err, res.err
    # the dry run does not count on the planned tags: that dependency is decided at run time
    dry = cmx("run", "script", "cmhook:get-src", "--dry-run", "-j")
    (checkout,) = [n for n in dry.json["plan"] if n["recipe"] == "get-checkout"]
    assert checkout["status"] == "maybe", checkout


def test_a_named_version_of_a_cm_recipe(cmx, tmp_path: Path) -> None:
    _register(cmx, tmp_path / "cmhook", CM_HOOK_TAGS)
    for version, branch in (("main", "main"), ("r4.1", "v4.1")):
        res = cmx("run", "script", "cmhook:get-src", f"--version={version}", "-j")
        assert res.code == 0, res.err
        assert (res.json["version"], res.json["new_env"]["CM_CHECKOUT_GOT"]) == (version, branch)
    assert "not a version" in cmx("run", "script", "cmhook:get-src", "--version_min=main").err
