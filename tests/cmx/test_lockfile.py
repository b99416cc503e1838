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


def _chain(host, probe_key, user_key, top_key):
    node = {"variations": [], "uid": "u", "digest": "d", "version": None, "env": {}, "inputs": {}}
    return {"lockfile_format": 1, "machine": {"host": host}, "nodes": {
        "0": {**node, "recipe": "probe", "key": probe_key, "probe": True, "deps": []},
        "1": {**node, "recipe": "user", "key": user_key, "deps": [["deps", 0]]},
        "2": {**node, "recipe": "static", "key": top_key, "deps": []},
    }}


def test_machine_keyed_nodes_are_the_probes_and_what_is_built_on_them():
    from cmx.lockfile import machine_keyed

    assert machine_keyed(_chain("a", "p", "u", "s")) == {"0", "1"}
    old = _chain("a", "p", "u", "s")  # a lock written before probes were marked: named by the current plan
    del old["nodes"]["0"]["probe"]
    assert machine_keyed(old) == set() and machine_keyed(old, {"probe"}) == {"0", "1"}


def test_on_another_machine_only_machine_keyed_keys_may_differ(tmp_path):
    compare(tmp_path / "l", _chain("login", "p1", "u1", "s"), _chain("node", "p2", "u2", "s"))
    with pytest.raises(FrozenMismatch) as err:  # the rest of the plan is still compared
        compare(tmp_path / "l", _chain("login", "p1", "u1", "s"), _chain("node", "p2", "u2", "s2"))
    assert list(err.value.differences) == ["static: cache key changed (s -> s2)"]
    with pytest.raises(FrozenMismatch) as err:  # on the lock's own machine, every key
        compare(tmp_path / "l", _chain("login", "p1", "u1", "s"), _chain("login", "p1", "u2", "s"))
    assert list(err.value.differences) == ["user: cache key changed (u1 -> u2)"]
