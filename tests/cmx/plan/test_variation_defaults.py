"""The shortcut for plain variations selects what the general variation expansion selects."""

import random
from pathlib import Path

from cmx.errors import CmxError
from cmx.plan import variations as V
from cmx.recipe import Recipe


def _recipe(meta):
    return Recipe("r", "u", ("r",), Path("/x"), Path("/x/meta.yaml"), "t", "d", (), meta, {})


def _general(recipe, requested):
    ex = V._Expander(recipe, ())
    for name, source in requested:
        ex.add(name, source)
    ex.apply_defaults(explicit_given=bool(requested))
    ex.check_groups()
    return V.ResolvedVariations(tuple(sorted(ex.selected)), tuple(ex.overlays()))


def _outcome(fn):
    try:
        return fn()
    except CmxError as exc:
        return str(exc)
    except RecursionError:  # an alias naming itself (the general path's own behaviour)
        return "recursion"


def test_plain_shortcut_agrees_with_the_expander():
    rng = random.Random(5)
    shortcut = 0
    for _ in range(4000):
        defs = {}
        for j in range(rng.randint(1, 5)):
            d = None if rng.random() < 0.05 else {}
            if d is not None:
                if rng.random() < 0.7:
                    d["group"] = rng.choice(["g1", "g2"])
                if rng.random() < 0.5:
                    d["default"] = rng.choice([True, False])
                if rng.random() < 0.05:
                    d["alias"] = rng.choice(["a", "b"])
                if rng.random() < 0.05:
                    d["base"] = [rng.choice(["a", "b"])]
                if rng.random() < 0.3:
                    d["env"] = {"K": str(j)}
            defs[rng.choice(["a", "b", "c", "e", "x.#", "a,b"])] = d
        meta = {"variations": defs}
        if rng.random() < 0.05:
            meta["default_variations"] = {"g1": "a"}
        r = _recipe(meta)
        requested = [(rng.choice(["a", "b", "c", "z"]), "test") for _ in range(rng.choice([0, 0, 1, 2]))]
        shortcut += V._plain_selection(meta, [n for n, _ in requested]) is not None
        assert _outcome(lambda: V.expand(r, requested, ())) == _outcome(lambda: _general(r, requested)), \
            (meta, requested)
    assert shortcut > 500  # the shortcut was exercised


def test_the_first_default_of_each_group_wins_after_the_requested_ones():
    meta = {"variations": {"fp32": {"group": "p", "default": True, "env": {"P": "32"}},
                           "fp16": {"group": "p", "default": True}, "cpu": {"group": "b", "default": True},
                           "cuda": {"group": "b"}}}
    got = V.expand(_recipe(meta), [])
    assert got.names == ("cpu", "fp32") and got.overlays[0] == {"group": "p", "default": True, "env": {"P": "32"}}
    got = V.expand(_recipe(meta), [("cuda", "the command line")])
    assert got.names == ("cuda", "fp32") and got.overlays[0] == {"group": "b"}
