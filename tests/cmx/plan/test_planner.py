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


def _chain(n, back_to=None):
    """a0 -> a1 -> ... -> a{n-1}; the last one depends on a{back_to} when given (a cycle)."""
    out = []
    for i in range(n):
        nxt = i + 1 if i + 1 < n else back_to
        out.append(R(f"a{i}", tags=[f"a{i}"], deps=[{"tags": f"a{nxt}"}] if nxt is not None else []))
    return out


def test_a_deep_chain_plans_it_is_not_a_cycle():
    """2,000 levels: far beyond the old depth limit (64) and Python's recursion limit."""
    p = plan(_chain(2000), "a0")
    assert len(p.nodes) == 2000
    assert p.nodes[0].alias == "a1999" and p.root.alias == "a0"  # dependencies first
    assert all(n.key for n in p.nodes)
    # every node's only edge is the next one
    assert [n.edges[0].child.alias for n in p.nodes[1:5]] == ["a1999", "a1998", "a1997", "a1996"]


def test_a_cycle_deep_in_a_chain_is_reported_exactly():
    with pytest.raises(CycleError) as err:
        plan(_chain(1500, back_to=1200), "a0")
    path = [p.split(" ")[0] for p in err.value.path]
    assert path == [f"a{i}" for i in range(1200, 1500)] + ["a1200"]
    assert "depth limit" not in str(err.value)
    assert "required at" in err.value.path[-1]


def test_an_error_deep_in_a_chain_leaves_the_planner_consistent():
    """An error far down is raised as it is (not wrapped), naming the missing tags."""
    recipes = _chain(800)[:-1]  # a798 asks for a799, which does not exist
    with pytest.raises(Exception) as err:
        plan(recipes, "a0")
    assert "a799" in str(err.value) and err.type is not CycleError


def test_many_spellings_of_one_request_are_one_node():
    """Dependents asking for the same recipe with different tags get the same node (and keys)."""
    leaf = R("leaf", tags=["get", "leaf", "x"], default_env={"A": "1"})
    mids = [R(f"m{i}", tags=[f"m{i}"], deps=[{"tags": t}]) for i, t in
            enumerate(["leaf", "x,leaf", "get,x", "leaf,get,x"])]
    other = R("other", tags=["other"], deps=[{"tags": "leaf", "env": {"A": "2"}}])
    app = R("app", tags=["app"], deps=[{"tags": f"m{i}"} for i in range(4)] + [{"tags": "other"}])
    p = plan([leaf, *mids, other, app], "app")
    leaves = [n for n in p.nodes if n.alias == "leaf"]
    assert len(leaves) == 2  # the env A=2 request is a different node
    shared = [n for n in leaves if n.env["A"] == "1"][0]
    assert {e.child.identity for m in p.nodes if m.alias.startswith("m") for e in m.edges} == {shared.identity}
    assert len(shared.parents) == 4


def test_a_patch_that_applies_to_nothing_below_does_not_duplicate_a_node():
    """run,mlperf,submission listed detect-os twice with one key: an ancestor's adr (venv) reached one
    request of it and not the other. It changes nothing below detect-os, so it is one node."""
    leaf = R("leaf", tags=["leaf"], deps=[{"tags": "base"}])
    base = R("base", tags=["base"])
    venv = R("venv", tags=["venv"], variations={"v": {}})
    mid = R("mid", tags=["mid"], adr={"venv": {"tags": "_v"}},
            deps=[{"tags": "venv", "names": ["venv"]}, {"tags": "leaf"}])
    top = R("top", tags=["top"], deps=[{"tags": "leaf"}, {"tags": "mid"}])
    p = plan([leaf, base, venv, mid, top], "top")
    assert [n.alias for n in p.nodes] == ["base", "leaf", "venv", "mid", "top"]
    assert [n.index for n in p.nodes] == list(range(5))
    (leaf_node,) = [n for n in p.nodes if n.alias == "leaf"]
    assert sorted(parent.alias for parent, _ in leaf_node.parents) == ["mid", "top"]
    (base_node,) = [n for n in p.nodes if n.alias == "base"]
    assert [parent.alias for parent, _ in base_node.parents] == ["leaf"]
    assert [n for n in p.nodes if n.alias == "venv"][0].variations == ("v",)


def test_a_patch_that_applies_below_keeps_two_nodes():
    venv = R("venv", tags=["venv"], variations={"v": {}})
    leaf = R("leaf", tags=["leaf"], deps=[{"tags": "venv", "names": ["venv"]}])
    mid = R("mid", tags=["mid"], adr={"venv": {"tags": "_v"}}, deps=[{"tags": "leaf"}])
    top = R("top", tags=["top"], deps=[{"tags": "leaf"}, {"tags": "mid"}])
    p = plan([venv, leaf, mid, top], "top")
    assert sorted(n.label for n in p.nodes) == ["leaf", "leaf", "mid", "top", "venv", "venv(_v)"]
