"""The effective meta of a plan node: the recipe's meta with its overlays merged, as the general rule says,
and never a change to the recipe's own meta (merged values are shared read-only, not copied)."""

import copy
import random
from pathlib import Path

from cmx.index import RecipeIndex
from cmx.plan.node import PHASES
from cmx.plan.planner import Planner, Request, _merge_effective
from cmx.recipe import Recipe
from cmx.selector import parse

_DICTS = ("env", "default_env", "const", "state", "input_mapping", "adr", "add_deps_recursive", "ad", "add_deps")
_LISTS = ("new_env_keys", "new_state_keys")


def _reference(meta, overlays):
    """The rule, written plainly: every key set by any layer, later layers winning."""
    layers = [meta, *overlays]
    eff = {k: meta[k] for k in ("cache", "cache_expiration", "probe") if k in meta}
    names = [layer["script_name"] for layer in layers if layer.get("script_name")]
    if names:
        eff["script_name"] = names[-1]
    for key in _DICTS:
        merged = {}
        for layer in layers:
            merged.update(layer.get(key) or {})
        eff[key] = merged
    for key, alias in (("adr", "add_deps_recursive"), ("ad", "add_deps")):
        eff[key] = {**eff.pop(alias), **eff[key]}
    for key in _LISTS:
        eff[key] = list(dict.fromkeys(k for layer in layers for k in layer.get(key) or ()))
    for phase in PHASES:
        eff[phase] = [(dep, f"{phase}/{j}") for j, dep in enumerate(meta.get(phase) or ())]
        eff[phase] += [(dep, "") for layer in overlays for dep in layer.get(phase) or ()]
    return eff


def _normal(eff):
    """Values as plain dicts and lists (the planner shares read-only empties and tuples)."""
    out = {}
    for k, v in eff.items():
        if k in _DICTS:
            out[k] = dict(v)
        elif k in _LISTS or k in PHASES:
            out[k] = list(v)
        elif k != "script_name" or v is not None:
            out[k] = v
    return out


def _layer(rng, top):
    layer = {}
    for key in rng.sample(_DICTS, rng.randint(0, 4)):
        layer[key] = {rng.choice("ABCD"): rng.choice(["x", "y", "<<<A>>>"]) for _ in range(rng.randint(0, 3))}
    for key in rng.sample(_LISTS, rng.randint(0, 2)):
        layer[key] = [rng.choice(["K_*", "L", "M"]) for _ in range(rng.randint(0, 3))]
    for phase in rng.sample(PHASES, rng.randint(0, 2)):
        layer[phase] = [{"tags": rng.choice(["a", "b,c"])} for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        layer["script_name"] = rng.choice(["", "run", "build"])
    if top:
        for key in ("cache", "probe", "cache_expiration"):
            if rng.random() < 0.3:
                layer[key] = rng.choice([True, False, "1d"])
    return layer


def test_merge_agrees_with_the_rule_and_leaves_every_layer_as_it_was():
    rng = random.Random(11)
    for _ in range(3000):
        meta = _layer(rng, top=True)
        overlays = [_layer(rng, top=False) for _ in range(rng.randint(0, 3))]
        before = copy.deepcopy((meta, overlays))
        recipe = Recipe("r", "u", ("r",), Path("/x"), Path("/x/meta.yaml"), "t", "d", (), meta, {})
        eff = _merge_effective(recipe, tuple(overlays))
        assert _normal(eff) == _reference(meta, overlays), (meta, overlays)
        assert (meta, overlays) == before


def R(alias, **meta):
    meta = {"alias": alias, **meta}
    return Recipe(alias, alias + "-uid", tuple(meta.get("tags", [alias])), Path("/r") / alias,
                  Path("/r") / alias / "meta.yaml", "t", "digest-" + alias, (), meta, {})


def test_planning_never_changes_a_recipes_meta():
    lib = R("lib", tags=["lib"], default_env={"LIB_OPT": "-O2"}, env={"LIB_ID": "<<<LIB_OPT>>>-x"},
            input_mapping={"opt": "LIB_OPT"}, new_env_keys=["LIB_*"],
            variations={"fast": {"group": "speed", "default": True, "env": {"LIB_SPEED": "fast"}},
                        "slow": {"group": "speed", "env": {"LIB_SPEED": "slow"}}})
    app = R("app", tags=["app"], env={"APP": "1"}, const={"APP_C": "c"},
            deps=[{"tags": "lib"}, {"tags": "lib,_slow"}, {"tags": "lib", "opt": "-O3"}])
    before = copy.deepcopy((lib.meta, app.meta))
    p = Planner(RecipeIndex([lib, app], [], []), user_env={"USER_X": "u"}).plan(Request(selector=parse("app")))
    libs = sorted((n for n in p.nodes if n.alias == "lib"), key=lambda n: (n.variations, n.env["LIB_OPT"]))
    assert [(n.variations, n.env["LIB_OPT"], n.env["LIB_SPEED"], n.env["LIB_ID"]) for n in libs] == [
        (("fast",), "-O2", "fast", "-O2-x"), (("fast",), "-O3", "fast", "-O3-x"), (("slow",), "-O2", "slow", "-O2-x")]
    for n in p.nodes:  # what a run changes is its own copy
        n.env["CHANGED"] = "yes"
    assert (lib.meta, app.meta) == before
