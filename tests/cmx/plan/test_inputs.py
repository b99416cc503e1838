"""Inputs declared in a meta (required_inputs; input_description type/choices/min/max) are checked
at plan time: exit 2 naming the flag, before any recipe of the plan runs."""

from __future__ import annotations

import pytest

from tests.conftest import RecipeRepo

LEAF = """
    tags: [leaf]
    input_mapping: {path: LEAF_PATH}
    required_inputs: [path]
    input_description:
      path: {desc: "the input file", type: file}
    """

TOP = """
    tags: [top]
    deps:
      - tags: leaf
        enable_if_env: {TOP_LEAF: ["yes"]}
        path: "<<<TOP_FILE>>>"
    input_mapping: {n: TOP_N, kind: TOP_KIND, file: TOP_FILE, url: TOP_URL, flag: TOP_FLAG, leaf: TOP_LEAF,
                    kinds: TOP_KINDS}
    input_description:
      n: {desc: "how many", type: int, min: 1, max: 10}
      kind: {desc: "which kind", choices: [a, b]}
      kinds: {desc: "which kinds", type: list, choices: [a, b, c]}
      url: {desc: "a server", type: url}
      flag: {desc: "on or off", type: bool}
    default_env: {TOP_N: "2"}
    variations:
      withfile:
        required_inputs: [file]
        env: {TOP_LEAF: "yes"}
    """


@pytest.fixture
def recipes(repo: RecipeRepo, tmp_path):
    marker = tmp_path / "ran"
    repo.add("leaf", LEAF, f"touch {marker}\n")
    repo.add("top", TOP, f"touch {marker}\n")
    return marker


@pytest.mark.parametrize("args, message", [
    (["--n=abc"], "recipe 'top': --n=abc is not a whole number"),
    (["--n=0"], "recipe 'top': --n=0 must be at least 1"),
    (["--n=11"], "recipe 'top': --n=11 must be at most 10"),
    (["--env.TOP_N=x"], "recipe 'top': --n=x is not a whole number"),
    (["--kind=c"], "recipe 'top': --kind=c must be one of: a, b"),
    (["--url=localhost"], "recipe 'top': --url=localhost is not a URL"),
    (["--flag=maybe"], "recipe 'top': --flag=maybe must be yes or no"),
    (["--kinds=a,d"], "recipe 'top': --kinds=a,d must list only: a, b, c (not d)"),
    (["--kinds=a,,b"], "recipe 'top': --kinds=a,,b has an empty item"),
])
def test_malformed_inputs_are_usage_errors_at_plan_time(cmx, recipes, args, message):
    for extra in ([], ["--dry-run"]):
        res = cmx("run", "script", "--tags=top", *args, *extra)
        assert res.code == 2 and message in res.err, res.err
        assert "Traceback" not in res.err and not recipes.exists()


def test_required_by_a_variation_names_the_flag_and_the_variation(cmx, recipes, tmp_path):
    res = cmx("run", "script", "--tags=top,_withfile")
    assert res.code == 2 and "recipe 'top' needs --file with _withfile" in res.err, res.err
    assert "hint: --file" not in res.err and "<<<" not in res.err and not recipes.exists()
    res = cmx("run", "script", "--tags=top,_withfile", f"--file={tmp_path / 'none.txt'}")
    assert res.code == 2 and "recipe 'leaf': --path=" in res.err and "does not exist" in res.err
    assert "(asked by" in res.err and not recipes.exists()
    given = tmp_path / "in.txt"
    given.write_text("x")
    res = cmx("run", "script", "--tags=top,_withfile", f"--file={given}", "--n=3", "--kind=a",
              "--url=http://127.0.0.1:1", "--flag=yes", "--kinds=c,A")
    assert res.code == 0, res.err
    assert recipes.exists()


def test_a_required_input_of_a_dependency_left_unresolved_is_named_without_the_placeholder(cmx, recipes):
    res = cmx("run", "script", "--tags=top", "--leaf=yes")
    assert res.code == 2 and "recipe 'leaf' needs --path (asked by" in res.err, res.err
    assert "<<<" not in res.err and not recipes.exists()


def test_a_recipe_declaring_nothing_is_not_checked(cmx, repo):
    repo.add("plain", "tags: [plain]\ninput_mapping: {n: N}\ninput_description: {n: 'a number'}\n", "true\n")
    assert cmx("run", "script", "--tags=plain", "--n=abc").code == 0


def test_an_unknown_input_type_is_a_definition_error(cmx, repo):
    repo.add("badtype", "tags: [badtype]\ninput_mapping: {n: N}\ninput_description: {n: {type: integer}}\n", "true\n")
    res = cmx("run", "script", "--tags=badtype")
    assert res.code == 2 and "meta.yaml" in res.err, res.err
