import pytest

from cmx.errors import ResolutionImpossible, SelectionError
from cmx.plan.variations import expand
from cmx.recipe import Recipe
from pathlib import Path


def recipe(variations, **meta):
    meta = {"alias": "r", "tags": ["r"], "variations": variations, **meta}
    return Recipe("r", "uid", ("r",), Path("/x"), Path("/x/meta.yaml"), "t", "d", (), meta, {})


V = {
    "cpu": {"group": "device", "default": True, "env": {"DEV": "cpu"}},
    "cuda": {"group": "device", "env": {"DEV": "cuda"}, "base": ["fp16"]},
    "fp16": {"group": "precision", "env": {"P": "16"}},
    "fp32": {"group": "precision", "default": True, "env": {"P": "32"}},
    "bs.#": {"env": {"BS": "#"}},
    "fast": {"alias": "cuda"},
    "cuda,fp16": {"env": {"COMBO": "yes"}},
}


def names(requested, excluded=()):
    return expand(recipe(V), [(v, "test") for v in requested], tuple(excluded)).names


def test_group_defaults_apply():
    assert names([]) == ("cpu", "fp32")


def test_base_fills_its_group_and_blocks_the_default():
    assert names(["cuda"]) == ("cuda", "fp16")


def test_dynamic_variation_replaces_hash():
    res = expand(recipe(V), [("bs.8", "t")])
    assert "bs.8" in res.names
    assert {"BS": "8"} in [o.get("env") for o in res.overlays]


def test_alias_and_combination():
    res = expand(recipe(V), [("fast", "t")])
    assert res.names == ("cuda", "fp16")
    assert {"COMBO": "yes"} in [o.get("env") for o in res.overlays]


def test_exclusion_skips_a_default():
    assert names([], ["cpu"]) == ("fp32",)


def test_two_of_one_group_names_both_and_their_sources():
    with pytest.raises(ResolutionImpossible) as err:
        expand(recipe(V), [("cpu", "the command line"), ("cuda", "dep at meta.yaml:4")])
    text = str(err.value)
    assert "_cpu" in text and "_cuda" in text and "meta.yaml:4" in text


def test_unknown_variation_lists_and_suggests():
    with pytest.raises(SelectionError) as err:
        names(["cudaa"])
    assert "did you mean _cuda" in str(err.value)
    assert "_fp32" in str(err.value)


def test_selected_and_excluded_conflict():
    with pytest.raises(ResolutionImpossible):
        names(["cuda"], ["cuda"])


def test_default_variation_used_only_without_explicit_ones():
    r = recipe({"a": {}, "b": {}}, default_variation="a")
    assert expand(r, []).names == ("a",)
    assert expand(r, [("b", "t")]).names == ("b",)


def test_invalid_combination():
    r = recipe({"a": {}, "b": {}}, invalid_variation_combinations=[["a", "b"]])
    with pytest.raises(ResolutionImpossible):
        expand(r, [("a", "t"), ("b", "t")])
