"""Planner unit tests on an in-memory index (no subprocess, nothing executed)."""

from pathlib import Path

import pytest

from cmx.errors import CycleError, ResolutionImpossible
from cmx.index import RecipeIndex
from cmx.plan.planner import Planner, Request
from cmx.recipe import Recipe
from cmx.selector import parse


def R(alias, **meta):
    meta = {"alias": alias, **meta}
    tags = tuple(meta.get("tags", [alias]))
    return Recipe(alias, alias + "-uid", tags, Path("/r") / alias, Path("/r") / alias / "meta.yaml", "t",
                  "digest-" + alias, (), meta, {})


def plan(recipes, tags, **req):
    index = RecipeIndex(list(recipes), [], [])
    return Planner(index).plan(Request(selector=parse(tags), **req))


def test_versions_default_clamp_and_overlay():
    tool = R("tool", tags=["tool"], default_version="1.0", version_min="1.5",
             versions={"1.5": {"env": {"V": "one-five"}}, "2.0": {"env": {"V": "two"}}})
    p = plan([tool], "tool")
    assert p.root.version == "1.5" and p.root.env["V"] == "one-five"
    p = plan([tool], "tool", version="2.0")
    assert p.root.env["V"] == "two"
    with pytest.raises(ResolutionImpossible) as err:
        plan([tool], "tool", version="1.0")
    assert "the command line" in str(err.value) and "version >= 1.5" in str(err.value)


def test_dep_versions_unify_with_the_recipe_range():
    tool = R("tool", tags=["tool"], version_max="3")
    app = R("app", tags=["app"], deps=[{"tags": "tool", "version_min": "4"}])
    with pytest.raises(ResolutionImpossible) as err:
        plan([tool, app], "app")
    assert len(err.value.causes) == 2


def test_cycle_shows_the_path():
    a = R("a", tags=["a"], deps=[{"tags": "b"}])
    b = R("b", tags=["b"], deps=[{"tags": "c"}])
    c = R("c", tags=["c"], deps=[{"tags": "a"}])
    with pytest.raises(CycleError) as err:
        plan([a, b, c], "a")
    assert [p.split(" ")[0] for p in err.value.path] == ["a", "b", "c", "a"]


def test_same_recipe_different_variations_are_different_nodes():
    lib = R("lib", tags=["lib"], variations={"x": {}, "y": {}})
    app = R("app", tags=["app"], deps=[{"tags": "lib,_x"}, {"tags": "lib,_y"}, {"tags": "lib,_x"}])
    p = plan([lib, app], "app")
    assert len(p.nodes) == 3 and len(p.root.edges) == 3
    assert p.root.edges[0].child is p.root.edges[2].child


def test_keys_are_merkle_over_dependencies():
    leaf = R("leaf", tags=["leaf"], cache=True)
    app = R("app", tags=["app"], deps=[{"tags": "leaf", "env": {"X": "<<<X>>>"}}], default_env={"X": "1"},
            input_mapping={"x": "X"})
    k1 = plan([leaf, app], "app").root.key
    k2 = plan([leaf, app], "app", inputs={"x": "2"}).root.key
    assert k1 and k2 and k1 != k2
    assert plan([leaf, app], "app").root.key == k1


def test_unreferenced_user_env_does_not_rekey_dependencies():
    leaf = R("leaf", tags=["leaf"])
    app = R("app", tags=["app"], deps=[{"tags": "leaf"}])
    index = RecipeIndex([leaf, app], [], [])
    a = Planner(index, user_env={"UNRELATED": "1"}).plan(Request(selector=parse("app")))
    b = Planner(index, user_env={"UNRELATED": "2"}).plan(Request(selector=parse("app")))
    assert a.nodes[0].key == b.nodes[0].key  # leaf never mentions UNRELATED
    assert a.root.key != b.root.key  # the recipe the user ran always sees its --env
