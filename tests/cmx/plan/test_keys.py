"""The canonical JSON behind cache keys: the same bytes as ``json.dumps(sort_keys=True)``."""

import json
from pathlib import Path

import pytest

from cmx.plan import keys


def _reference(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@pytest.mark.parametrize("obj", [
    {},
    [],
    {"b": 1, "a": [1, 2.5, -0.0, 1e300, None, True, False], "c": {"z": {}, "y": ()}},
    {"recipe": {"uid": "u", "digest": "d" * 64}, "variations": ["fp16"], "version": None,
     "env": {"K": "v", "+PATH": ["/a", "/b"]}, "inputs": {"n": 3}, "deps": [["deps", "x", "k" * 64, {}]]},
    {"unicode": "é ü 中 \n\t\"\\", "path": Path("/tmp/x"), "nested": [{"b": 2, "a": 1}]},
    [{"k": ("t", 1)}, "s"],
])
def test_canonical_matches_json_dumps(obj):
    assert keys.canonical(obj) == _reference(obj)


def test_digest_is_sha256_of_the_canonical_text():
    import hashlib

    obj = {"b": [1, "x"], "a": None}
    assert keys.digest(obj) == hashlib.sha256(_reference(obj).encode()).hexdigest()


def _node(alias, *, probe=False, variations=(), version=None, key_env=None, inputs=None, edges=()):
    from cmx.plan.node import PlanNode
    from cmx.recipe import Recipe
    from cmx.versions import VersionRequest

    meta = {"alias": alias, "probe": probe}
    recipe = Recipe(alias, alias + "-uid", (alias,), Path("/r") / alias, Path("/r") / alias / "meta.yaml", "t",
                    "d" * 64, (), meta, {})
    return PlanNode(index=0, recipe=recipe, variations=tuple(variations), version=version, version_req=VersionRequest(),
                    env=dict(key_env or {}), key_env=dict(key_env or {}), state={}, inputs=dict(inputs or {}),
                    effective={}, identity=alias, edges=list(edges))


def _edges(*children):
    from cmx.plan.node import Edge

    return [Edge(phase, child, (), "f:1", condition) for phase, child, condition in children]


@pytest.mark.parametrize("make", [
    lambda: _node("plain"),
    lambda: _node("probe", probe=True, key_env={"X": "1"}),
    lambda: _node("full", variations=["fp16", "batch_size.8"], version="1.2.3",
                  key_env={"B": "2", "A": "1", "+PATH": ["/a", "/b"], "N": 3, "U": "é ü 中 \n\t\"\\", "T": True},
                  inputs={"n": 3, "flag": True, "hf_token": "hf_abcdefghijklmnopqrstuvwxyz123456"},
                  edges=_edges(("deps", _node("c1"), None), ("post_deps", _node("c2"), {"skip_if_env": {"Z": ["yes"]}}),
                               ("deps", _node("c3"), {}))),
    lambda: _node("secrets", key_env={"URL": "https://user:pass@host/x?token=abc", "Q": 'say "x=1"'},
                  edges=_edges(("deps", _node("ü-dep"), None))),
    lambda: _node("odd-version", version=3),  # not a string: encoded whole
])
def test_a_nodes_key_text_is_the_canonical_text_of_its_key_material(make, monkeypatch):
    """compute_key writes the material's canonical text directly: the same bytes, so the same keys as
    digest(key_material) (every cache key depends on it)."""
    import hashlib

    monkeypatch.setenv("CMX_HOST_ID", "machine-1")
    node = make()
    child_keys = [f"{'if:' if i % 2 else ''}{'k' * 64}{i}" for i in range(len(node.edges))]
    material = node.key_material(child_keys)
    text = node._key_text(child_keys)
    if node.version is not None and not isinstance(node.version, str):
        assert text is None
    else:
        assert text == _reference(material)
    assert node.compute_key(child_keys) == hashlib.sha256(_reference(material).encode()).hexdigest()
