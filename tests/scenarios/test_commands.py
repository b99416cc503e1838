"""The other commands: find/show/test script, show/rm/gc cache, add/pull/list repo, cmx.access."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cmx
from tests.conftest import store_entries


def test_builtin_recipes_work_with_an_empty_home(cmx, home):
    assert not any(home.iterdir())
    res = cmx("run", "script", "--tags=detect,os", "-j")
    assert res.code == 0 and res.json["new_env"]["CMX_HOST_OS_TYPE"] in ("linux", "darwin")


def test_cmx_test_script_runs_declared_checks(cmx):
    for name in ("detect-os", "print-hello-world"):
        res = cmx("test", "script", name)
        assert res.code == 0, res.out + res.err
        assert "0 failed" in res.out


def test_cmx_test_script_fails_when_a_check_fails(repo, cmx):
    repo.add("t", """
        tags: [t]
        new_env_keys: [V]
        tests:
          run_inputs:
            - expect_env: {V: "^2$"}
        """, "echo V=1 >> tmp-run-env.out\n")
    res = cmx("test", "script", "t")
    assert res.code == 1 and "FAIL" in res.out


def test_find_and_show(cmx):
    found = cmx("find", "script", "--tags=detect,os", "-j").json["list"]
    assert [r["alias"] for r in found] == ["detect-os"]
    nothing = cmx("find", "script", "--tags=no-such-tag", "-j")
    assert nothing.code == 1 and nothing.json["list"] == [] and "no recipe matches" in nothing.err
    shown = cmx("show", "script", "print-hello-world")
    assert shown.code == 0 and "_json" in shown.out and "--name" in shown.out
    assert cmx("show", "script", "nope").code == 2


def test_show_rm_gc_cache(cmx, home):
    cmx("run", "script", "--tags=print,hello-world", "-q")
    cmx("run", "script", "--tags=print,hello-world,_json", "-q")
    rows = cmx("show", "cache", "-j").json
    assert isinstance(rows, list)
    assert sorted(r["alias"] for r in rows) == ["detect-os", "print-hello-world", "print-hello-world"]
    assert len(cmx("show", "cache", "--tags=print,_json", "-j").json) == 1
    refused = cmx("rm", "cache", "--tags=print")
    assert refused.code == 2 and "-f" in refused.err
    assert len(store_entries(home)) == 3
    assert cmx("rm", "cache", "--tags=print,_json", "-f").code == 0
    assert len(store_entries(home)) == 2
    gc = cmx("gc", "cache", "--unreferenced", "-j").json
    assert len(gc["removed"]) == 1  # the hello-world entry: nothing refers to it; detect-os is its dep
    assert cmx("gc", "cache", "--older-than=0s", "-j").json["removed"]
    assert store_entries(home) == []


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_add_pull_list_repo(cmx, home, tmp_path):
    src = tmp_path / "recipes-src"
    (src / "scripts" / "greet").mkdir(parents=True)
    (src / "scripts" / "greet" / "meta.yaml").write_text("alias: greet\ntags: [greet]\nnew_env_keys: [G]\n")
    (src / "scripts" / "greet" / "run.sh").write_text("echo G=v1 >> tmp-run-env.out\n")
    marker = tmp_path / "code-ran"
    (src / "scripts" / "greet" / "customize.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    _git("init", "-q", "-b", "main", cwd=src)
    _git("add", "-A", cwd=src)
    _git("commit", "-qm", "v1", cwd=src)
    res = cmx("pull", "repo", f"file://{src}", "--branch=main", "-j")
    assert res.code == 0, res.err
    dest = Path(res.json["repo"]["path"])
    assert (dest / "scripts" / "greet" / "meta.yaml").is_file()
    assert cmx("find", "script", "--tags=greet").code == 0
    assert not marker.exists()  # pulling and indexing read recipes; they execute none of their code
    assert cmx("run", "script", "--tags=greet", "-j").json["new_env"]["G"] == "v1"
    (src / "scripts" / "greet" / "run.sh").write_text("echo G=v2 >> tmp-run-env.out\n")
    _git("commit", "-qam", "v2", cwd=src)
    assert cmx("pull", "repo", f"file://{src}").code == 0
    assert cmx("run", "script", "--tags=greet", "-j").json["new_env"]["G"] == "v2"
    listed = [r["alias"] for r in cmx("list", "repo", "-j").json["list"]]
    assert listed == ["builtin", "recipes-src"]  # precedence order: the built-ins first
    # a plain folder of recipes, and CM's script/ layout
    plain = tmp_path / "plain"
    (plain / "hi").mkdir(parents=True)
    (plain / "hi" / "_cm.yaml").write_text("alias: hi\ntags: [hi, plain]\n")
    assert cmx("add", "repo", str(plain)).code == 0
    assert cmx("find", "script", "--tags=hi,plain", "-j").json["list"][0]["alias"] == "hi"
    cm = tmp_path / "cm-repo"
    (cm / "script" / "cm-thing").mkdir(parents=True)
    (cm / "cmr.yaml").write_text("alias: cm-repo\n")
    (cm / "script" / "cm-thing" / "_cm.json").write_text('{"alias": "cm-thing", "tags": "cm,thing"}')
    assert cmx("add", "repo", str(cm)).code == 0
    assert cmx("find", "script", "--tags=cm,thing", "-j").json["list"][0]["alias"] == "cm-thing"
    not_repo = tmp_path / "empty"
    not_repo.mkdir()
    res = cmx("add", "repo", str(not_repo))
    assert res.code == 2 and "holds no recipes" in res.err
    assert cmx("pull", "repo", f"file://{tmp_path}/missing").code != 0


def test_access_returns_cmind_shaped_dicts(home):
    out = cmx.access({"action": "run", "automation": "script", "tags": "detect,os"})
    assert out["return"] == 0 and "CMX_HOST_OS_TYPE" in out["new_env"]
    again = cmx.access({"action": "run", "automation": "script", "tags": "detect,os"})
    assert again["cached"] is True
    bad = cmx.access({"action": "run", "automation": "script", "tags": "detect,oss"})
    assert bad["return"] == 2 and "no recipe has all the tags" in bad["error"]
    assert cmx.access({"action": "fly", "automation": "script"})["return"] == 2


def test_usage_errors(cmx):
    for args, needle in [
        ((), "usage"),
        (("run", "scrpt", "--tags=x"), "did you mean 'script'"),
        (("runn", "script"), "no action 'runn'"),
        (("run", "script"), "which recipe"),
        (("run", "script", "--tags=a,,b"), "empty tag"),
        (("run", "script", "--tags=detect,os", "-z"), "unknown short flag"),
        (("show",), "needs an automation"),
    ]:
        res = cmx(*args)
        assert (res.code == 0 and needle in res.out) if not args else (res.code == 2 and needle in res.err), (args, res)


def test_gc_removes_what_was_built_on_a_removed_entry(repo, cmx, home):
    repo.add("gcdep", "tags: [gcdep]\ncache: true\nnew_env_keys: [GC_FILE]\n",
             'echo x > data.txt\necho "GC_FILE=$PWD/data.txt" >> tmp-run-env.out\n')
    repo.add("gcparent", "tags: [gcparent]\ncache: true\ndeps: [{tags: gcdep}]\nnew_env_keys: [GC_FILE]\n", "true\n")
    later = {"CMX_CLOCK_SHIFT": "2h"}  # cmx's clock two hours on: gcdep is old, gcparent (built then) is not
    cmx("run", "script", "--tags=gcdep")
    cmx("run", "script", "--tags=gcparent", env=later)  # built on the (older) gcdep entry
    dry = cmx("gc", "cache", "--older-than=1h", "-n", "-j", env=later).json
    assert sorted(dry["removed"]) == sorted(e.name for e in store_entries(home))  # gcdep, and gcparent with it
    assert len(dry["removed"]) == 2 and len(store_entries(home)) == 2  # -n removes nothing
    assert cmx("rm", "cache", "--tags=gcdep", "-n").code == 0  # a dry run needs no -f
    cmx("gc", "cache", "--older-than=1h", env=later)
    out = cmx("run", "script", "--tags=gcparent", "-j").json
    assert not out["cached"] and Path(out["new_env"]["GC_FILE"]).is_file()


def test_misspelt_and_malformed_flags_are_rejected_naming_the_flag(cmx, home):
    cmx("run", "script", "--tags=print,hello-world", "-q")
    before = store_entries(home)
    for args, needle in [
        (("gc", "cache", "--olderthan=1s"), "did you mean --older-than?"),
        (("gc", "cache", "--older-than=30x"), "--older-than=30x: not a duration"),
        (("gc", "cache", "--older-than=abc"), "not a duration"),
        (("gc", "cache", "--older-than=-1d"), "not a duration"),
        (("find", "script", "--tgas="), "did you mean --tags?"),
        (("show", "cache", "--tgas=print"), "did you mean --tags?"),
        (("run", "script", "--tags=detect,os", "--lock"), "--lock needs a value"),
        (("run", "script", "--tags=detect,os", "--jobs"), "--jobs needs a value"),
        (("run", "script", "--tags=detect,os", "--version_min=abc"), "--version_min=abc: not a version"),
        (("run", "script", "--tags=print,hello-world", "--adr.python.version_min=x"), "not a version"),
        (("run", "script", "--tags=print,hello-world", "--adr.oss.tags=_x"), "did you mean --adr.os?"),
        (("run", "script", "--tags=print,hello-world", "--name,=a,b"), "takes one value"),
        (("run", "script", "--tags=print,hello-world", "--env.CMX_HELLO_NAME,=a,b"),
         "--env.CMX_HELLO_NAME takes one value, got a list (a,b)"),  # it reached the script as "['a', 'b']"
        (("run", "script", "--tags=print,hello-world", "--const.CMX_HELLO_NAME,=a,b"), "takes one value"),
        (("run", "experiment", "--tags=print,hello-world", "--explore.greeting=Hi", "--env.CMX_HELLO_NAME,=a,b"),
         "--env.CMX_HELLO_NAME takes one value"),
        (("run", "script", "--tags=print,hello-world", "--dryrun"), "did you mean the cmx flag --dry-run?"),
        (("run", "script", "--tags=print,hello-world", "--nme=x"), "did you mean --name?"),
        (("list", "repo", "--verbos"), "did you mean --verbose?"),
    ]:
        res = cmx(*args)
        assert res.code == 2 and needle in res.err and "Traceback" not in res.err, (args, res)
    assert store_entries(home) == before  # the gc with a bad filter removed nothing
    assert not (home / "True").exists()


def _every_action() -> list[tuple[str, str]]:
    from cmx import automation

    return [(a, n) for n in automation.names() for a in getattr(automation.load(n), "ACTIONS", {})]


def test_every_action_rejects_a_misspelt_flag_naming_the_nearest(cmx, home):
    """Also where undeclared flags are recipe inputs (run/explain script, run experiment): a near miss of
    one of cmx's own flags (here the common --verbose) is named, not another one (--version)."""
    recipe = {("run", "script"): ["--tags=print,hello-world"], ("explain", "script"): ["--tags=print,hello-world"],
              ("run", "experiment"): ["--tags=print,hello-world", "--explore.name=a,b"]}
    pairs = _every_action()
    assert len(pairs) >= 19
    for action, name in pairs:
        res = cmx(action, name, *recipe.get((action, name), []), "--verbos")
        assert res.code == 2 and "--verbose?" in res.err and "Traceback" not in res.err, (action, name, res.err)
    res = cmx("run", "experiment", "--tags=print,hello-world", "--explore.name=a,b", "--nme=x")
    assert res.code == 2 and "did you mean --name?" in res.err and "--explore.name=a" not in res.err, res.err


def test_cm_engine_flags_say_not_supported(cmx):
    for flag, equivalent in [("--docker", None), ("--print_env", "-j"), ("--debug", "-v"),
                             ("--dirty", None)]:
        res = cmx("run", "script", "--tags=detect,os", flag)
        assert res.code == 2 and f"{flag} is a CM engine flag that cmx does not support" in res.err, res.err
        assert "has no input" not in res.err.splitlines()[0].split("(and")[0]
        if equivalent:
            assert f"in cmx: {equivalent}" in res.err
    assert cmx("find", "script", "--tags=detect,os", "--docker").code == 2
    res = cmx("run", "experiment", "--tags=print,hello-world", "--explore.name=a,b", "--print_env")
    assert res.code == 2 and "--print_env is a CM engine flag that cmx does not support" in res.err, res.err
    assert "in cmx: -j" in res.err
    quiet = cmx("run", "script", "--tags=detect,os", "--silent")
    assert quiet.code == 0 and quiet.err == "" and quiet.out == ""


def test_a_recipe_input_with_an_engine_flag_name_stays_an_input(repo, cmx):
    repo.add("dbg", "tags: [dbg]\ninput_mapping: {debug: DBG_ON}\nnew_env_keys: [DBG_ON]\n",
             'echo "DBG_ON=$DBG_ON" >> tmp-run-env.out\n')
    assert cmx("run", "script", "--tags=dbg", "--debug=on", "-j").json["new_env"]["DBG_ON"] == "on"


def test_show_and_find_say_what_is_missing(cmx):
    res = cmx("show", "script")
    assert res.code == 2 and "which recipe?" in res.err and "None" not in res.err
    res = cmx("show", "script", "detect-oss")
    assert res.code == 2 and "did you mean detect-os" in res.err
    res = cmx("find", "script", "--tags=nosuchtag")
    assert res.code == 1 and "no recipe matches 'nosuchtag'" in res.err and res.out == ""
    res = cmx("find", "script", "--tags=detct")
    assert res.code == 1 and "close: detect" in res.err


def test_a_run_prints_its_outputs_and_the_replay_too(cmx, home):
    first = cmx("run", "script", "--tags=detect,os")
    assert first.code == 0 and "CMX_HOST_OS_TYPE=" in first.err, first.err
    again = cmx("run", "script", "--tags=detect,os")  # served by the fast path's memo
    assert again.code == 0 and again.err.replace("done", "cached").split("\n")[-3:] == \
        first.err.replace("done", "cached").split("\n")[-3:] and "CMX_HOST_OS_TYPE=" in again.err


def test_outputs_mask_secrets(repo, cmx, home):
    repo.add("sec", "tags: [sec]\nnew_env_keys: [SEC_*]\n",
             'echo "SEC_API_TOKEN=hunter2" >> tmp-run-env.out\n'
             'echo "SEC_URL=https://bob:hunter3@example.com/x?token=hunter4" >> tmp-run-env.out\n'
             'echo "SEC_PLAIN=visible" >> tmp-run-env.out\n')
    res = cmx("run", "script", "--tags=sec")
    assert res.code == 0 and "SEC_PLAIN=visible" in res.err
    assert "hunter" not in res.err and "SEC_URL=https://bob:***@example.com" in res.err, res.err


def test_access_never_raises(home):
    out = cmx.access("run script --tags=detect,os")
    assert out["return"] == 0 and "CMX_HOST_OS_TYPE" in out["new_env"]
    assert cmx.access(["find", "script", "--tags=detect,os"])["list"][0]["alias"] == "detect-os"
    assert cmx.access("cmx find script detect-os")["return"] == 0
    for garbage in (None, 42, 3.5, b"run", [1, 2], {1: 2}, "", "run script --tags='unclosed", object(),
                    {"action": "gc", "automation": "cache", "older_than": "30x"}, "gc cache --olderthan=1s",
                    {"action": "run", "automation": "script", "tags": "detect,os", "jobs": []}):
        res = cmx.access(garbage)  # type: ignore[arg-type]
        assert isinstance(res, dict) and res["return"] in (1, 2) and res["error"], (garbage, res)
    assert cmx.access("find script --tags=nosuchtag")["return"] == 1
