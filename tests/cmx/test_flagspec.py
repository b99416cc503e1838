"""The declarative flag tables of actions: types, aliases, unknown flags, CM engine flags."""

import pytest

from cmx.errors import UsageError
from cmx.flagspec import ActionSpec, Flag, cm_engine_flag, convert, parse_duration, spec_keys, validate

GC = ActionSpec("gc", (Flag("older-than", "duration", "h", example="--older-than=30d"), Flag("unreferenced")))
RUN = ActionSpec("run", (Flag("tags", "tags"), Flag("jobs", "int", takes_next=True), Flag("lock", "path"),
                         Flag("version_min", "version"), Flag("env", "env"),
                         Flag("adr", "patch", aliases=("add_deps_recursive",))), recipe_inputs=True)


def _err(spec: ActionSpec, i: dict) -> str:
    with pytest.raises(UsageError) as info:
        validate(spec, i, "cmx x y")
    return str(info.value)


def test_unknown_flag_names_the_nearest_known_one():
    assert "has no flag --olderthan" in _err(GC, {"olderthan": "1s"})
    assert "did you mean --older-than?" in _err(GC, {"olderthan": "1s"})
    assert "did you mean --unreferenced?" in _err(GC, {"unreferencd": True})
    assert "see `cmx x y -h`" in _err(GC, {"zzzzzz": True})


def test_a_flag_that_needs_a_value_has_none():
    assert "--lock needs a value" in _err(RUN, {"lock": True})
    assert "--jobs needs a value" in _err(RUN, {"jobs": True})
    assert "--older-than needs a value" in _err(GC, {"older_than": True})
    assert "--tags needs a value" in _err(RUN, {"tags": True})


def test_durations_and_versions_are_parsed_or_rejected_naming_the_flag():
    assert parse_duration("--x", "90s") == 90 and parse_duration("--x", "2h") == 7200
    assert parse_duration("--x", "1.5d") == 1.5 * 86400 and parse_duration("--x", "45") == 45
    for bad in ("30x", "abc", "-1d", "", "1e9", "inf", "nan"):
        assert "--older-than=" in _err(GC, {"older_than": bad}) or "needs a value" in _err(GC, {"older_than": bad})
    assert validate(GC, {"older_than": "30d"}, "w")["older_than"] == "30d"
    assert "--version_min=abc: not a version" in _err(RUN, {"version_min": "abc"})
    assert validate(RUN, {"version_min": "3.10"}, "w")["version_min"] == "3.10"
    assert validate(RUN, {"version_min": "v1.2.0-rc1"}, "w")["version_min"] == "v1.2.0-rc1"


def test_types_are_converted_and_aliases_folded():
    out = validate(RUN, {"jobs": "3", "tags": ["a", "b"], "j": True, "silent": True, "verbose": True,
                         "add_deps_recursive": {"p": {"tags": "_x"}}, "adr": {"q": {"tags": "_y"}}}, "w")
    assert out["jobs"] == 3 and out["tags"] == "a,b" and out["j"] is True and out["quiet"] is True and out["v"] is True
    assert out["adr"] == {"p": {"tags": "_x"}, "q": {"tags": "_y"}} and "add_deps_recursive" not in out
    assert validate(GC, {"unreferenced": "yes"}, "w")["unreferenced"] is True
    assert "is a switch and takes no value" in _err(GC, {"unreferenced": "maybe"})
    assert "whole number >= 1" in _err(RUN, {"jobs": "0"})
    assert "--env needs a name" in _err(RUN, {"env": "1"})
    assert "--adr.p needs a field" in _err(RUN, {"adr": {"p": "x"}})


def test_recipe_inputs_pass_through_but_take_one_value():
    out = validate(RUN, {"tags": "a", "model": "m", "docker": True}, "w")
    assert out["model"] == "m" and out["docker"] is True  # the recipe may have such an input: checked at plan time
    assert "takes one value, got a list (a,b)" in _err(RUN, {"name": ["a", "b"]})
    assert "takes one value, got nested keys" in _err(RUN, {"name": {"x": "1"}})
    assert spec_keys(RUN) >= {"tags", "jobs", "j", "v", "quiet", "help", "action", "artifacts"}
    assert "model" not in spec_keys(RUN)


def test_cm_engine_flags_are_named_as_such():
    msg = _err(GC, {"docker": True})
    assert "--docker is a CM engine flag that cmx does not support" in msg
    assert "--new" in _err(GC, {"renew": True})
    assert cm_engine_flag("docker_os") is not None and cm_engine_flag("model") is None


def test_convert_rejects_a_list_for_a_scalar():
    with pytest.raises(UsageError, match="takes one value"):
        convert(Flag("lock", "path"), ["a", "b"])


def test_an_unknown_kind_is_a_programming_error():
    from cmx.flagspec import declare

    with pytest.raises(ValueError):
        declare("x", Flag("x", "colour"))
