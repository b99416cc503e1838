import pytest

from cmx.errors import FrozenMismatch
from cmx.lockfile import compare


def lock(**node):
    base = {"recipe": "a", "variations": [], "uid": "u", "digest": "d", "version": None, "env": {}, "inputs": {}, "key": "k"}
    return {"lockfile_format": 1, "nodes": {"0": {**base, **node}}}


def test_identical_locks_pass(tmp_path):
    compare(tmp_path / "l", lock(), lock())


def test_differences_are_listed(tmp_path):
    with pytest.raises(FrozenMismatch) as err:
        compare(tmp_path / "l", lock(), lock(env={"X": "1"}, version="2", key="k2"))
    diffs = err.value.differences
    assert any("env X" in d for d in diffs) and any("version" in d for d in diffs) and any("cache key" in d for d in diffs)
    with pytest.raises(FrozenMismatch) as err:
        compare(tmp_path / "l", lock(), lock(recipe="b"))
    assert any("no longer in the plan" in d for d in err.value.differences)
