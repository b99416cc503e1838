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
