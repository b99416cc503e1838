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


def _layered_like():
    """lib has the tags get,lib,l1,n1 and is asked for by five dependents in five spellings."""
    lib = R("lib", tags=["get", "lib", "l1", "n1"], env={"LIB": "1"})
    spellings = ["n1", "n1,get", "get,n1", "l1,n1,lib", "lib,get,n1,l1"]
    users = [R(f"u{i}", tags=[f"u{i}"], deps=[{"tags": t}]) for i, t in enumerate(spellings)]
    app = R("app", tags=["app"], deps=[{"tags": f"u{i}"} for i in range(len(users))])
    return [lib, app, *users], spellings


def test_other_spellings_of_one_recipes_tags_are_one_node_found_without_selecting(monkeypatch):
    recipes, spellings = _layered_like()
    selected = []
    real = Planner.select

    def counting(self, selector, name, source):
        selected.append(selector.text)
        return real(self, selector, name, source)

    monkeypatch.setattr(Planner, "select", counting)
    p = plan(recipes, "app")
    libs = [n for n in p.nodes if n.alias == "lib"]
    assert len(libs) == 1 and len(p.nodes) == 7
    assert [parent.alias for parent, _ in libs[0].parents] == [f"u{i}" for i in range(len(spellings))]
    # tags that only one recipe has pick it without a selection: only the root is selected
    assert selected == ["app"]


def test_spellings_that_match_several_recipes_are_still_selected_with_their_note():
    a = R("a", tags=["get", "twin", "na"])
    b = R("b", tags=["get", "twin", "nb"])
    app = R("app", tags=["app"], deps=[{"tags": "twin,get"}, {"tags": "get,twin"}, {"tags": "na,twin"}])
    p = plan([app, a, b], "app")
    assert [n.alias for n in p.nodes] == ["a", "app"]
    assert [note.split(" matched")[0] for note in p.notes] == ["'twin,get'", "'get,twin'"]


def test_a_cycle_through_other_spellings_is_still_a_cycle():
    import pytest

    from cmx.errors import CycleError

    a = R("a", tags=["get", "na"], deps=[{"tags": "get,nb"}])
    b = R("b", tags=["get", "nb"], deps=[{"tags": "na,get"}])
    root = R("root", tags=["root"], deps=[{"tags": "na"}])
    with pytest.raises(CycleError) as err:
        plan([root, a, b], "root")
    assert "a" in str(err.value) and "b" in str(err.value)
