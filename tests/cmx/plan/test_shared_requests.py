"""A dependency many recipes ask for in the same words is one node, resolved once."""

from pathlib import Path

from cmx.index import RecipeIndex
from cmx.plan.planner import Planner, Request
from cmx.recipe import Recipe
from cmx.selector import parse


def R(alias, **meta):
    meta = {"alias": alias, **meta}
    return Recipe(alias, alias + "-uid", tuple(meta.get("tags", [alias])), Path("/r") / alias,
                  Path("/r") / alias / "meta.yaml", "t", "digest-" + alias, (), meta, {})


def plan(recipes, tags):
    return Planner(RecipeIndex(list(recipes), [], [])).plan(Request(selector=parse(tags)))


def test_shared_dependency_is_one_node_with_every_dependent_as_parent():
    base = R("base", tags=["base"])
    libs = [R(f"lib{i}", tags=[f"lib{i}"], deps=[{"tags": "base", "names": ["base"]}]) for i in range(3)]
    app = R("app", tags=["app"], deps=[{"tags": f"lib{i}"} for i in range(3)] + [{"tags": "base"}])
    p = plan([base, app, *libs], "app")
    shared = [n for n in p.nodes if n.alias == "base"]
    assert len(shared) == 1
    assert sorted(parent.alias for parent, _ in shared[0].parents) == ["app", "lib0", "lib1", "lib2"]
    assert {src for _, src in shared[0].parents} == {f"/r/{a}/meta.yaml" for a in ("app", "lib0", "lib1", "lib2")}


def test_a_patch_from_one_dependent_makes_its_own_node():
    base = R("base", tags=["base"], variations={"v": {"env": {"V": "1"}}})
    plain = R("plain", tags=["plain"], deps=[{"tags": "base", "names": ["base"]}])
    patched = R("patched", tags=["patched"], deps=[{"tags": "base", "names": ["base"]}],
                adr={"base": {"tags": "_v"}})  # flows down to patched's dependencies only
    app = R("app", tags=["app"], deps=[{"tags": "plain"}, {"tags": "patched"}])
    p = plan([base, plain, patched, app], "app")
    bases = [n for n in p.nodes if n.alias == "base"]
    assert sorted(n.variations for n in bases) == [(), ("v",)]
