import fcntl
import os
import time

import pytest

from cmx.cache.store import PARTIAL_DIR, SYNC_FILES_MAX, BadEntry, Store, parse_duration, sync_tree
from cmx.errors import CacheError
from cmx.home import Home


def test_publish_is_atomic_and_maps_paths(tmp_path):
    store = Store(Home(tmp_path))
    key = "ab" * 32
    assert store.lookup(key) is None
    build = store.new_build_dir(key)
    (build / "out.txt").write_text("x")
    entry = store.publish(key, build, {"alias": "t", "new_env": {"P": f"{build}/out.txt"}, "created": time.time()})
    assert not build.exists()
    assert entry.path == store.entry_path(key)
    assert entry.record["new_env"]["P"] == f"{entry.path}/out.txt"
    assert store.lookup(key).record["new_env"]["P"] == f"{entry.path}/out.txt"
    assert [e.key for e in store.entries()] == [key]


def test_failed_builds_move_aside(tmp_path):
    store = Store(Home(tmp_path))
    build = store.new_build_dir("cd" * 32)
    moved = store.fail(build, "t", "cd" * 32)
    assert moved.parent == store.failed_dir and not build.exists()
    assert store.lookup("cd" * 32) is None


def test_expiry_and_durations(tmp_path):
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200 and parse_duration("1d") == 86400
    store = Store(Home(tmp_path))
    key = "ef" * 32
    entry = store.publish(key, store.new_build_dir(key), {"alias": "t", "expires": time.time() - 1})
    assert entry.expired


def test_orphan_builds_are_those_of_dead_processes(tmp_path):
    store = Store(Home(tmp_path))
    mine = store.new_build_dir("12" * 32)
    dead = store.tmp_dir / f"{'34' * 16}.999999999.abcd"
    dead.mkdir()
    orphans = list(store.orphan_builds())
    assert dead in orphans and mine not in orphans


def _publish(store, key, **record):
    return store.publish(key, store.new_build_dir(key), dict({"alias": "t", "created": time.time()}, **record))


def test_unusable_entries_are_bad_entries_with_a_reason(tmp_path):
    store = Store(Home(tmp_path))
    good = _publish(store, "aa" * 32)
    bad = _publish(store, "bb" * 32)
    (bad.path / "cmx-entry.json").write_text('{"format": 1, "key": "' + "bb" * 32 + '", "new_env": []}')
    found = store.read("bb" * 32)
    assert isinstance(found, BadEntry) and "new_env" in found.reason
    assert store.lookup("bb" * 32) is None and store.read("cc" * 32) is None
    assert [e.key for e in store.entries()] == [good.key]
    assert [type(x).__name__ for x in store.scan()] == ["Entry", "BadEntry"]


def test_a_republished_entry_has_a_new_stamp(tmp_path):
    store = Store(Home(tmp_path))
    first = _publish(store, "dd" * 32)
    assert store.lookup("dd" * 32).stamp == first.stamp
    second = _publish(store, "dd" * 32)
    assert second.stamp != first.stamp and store.lookup("dd" * 32).stamp == second.stamp


def test_an_entry_held_by_a_build_cannot_be_removed(tmp_path):
    store = Store(Home(tmp_path))
    entry = _publish(store, "ee" * 32)
    with store.hold("builder") as holds:
        assert holds.add([entry.key]) == []
        assert store.in_use(entry.key)
        assert store.holders(entry.key) == [f"pid {os.getpid()} (builder)"]
        with pytest.raises(CacheError, match="in use by pid"):
            store.remove(entry)
        assert entry.path.is_dir()
    assert not store.in_use(entry.key) and store.holders(entry.key) == []
    store.remove(entry)
    assert store.lookup(entry.key) is None
    with store.hold("late") as holds:
        assert holds.add([entry.key]) == [entry.key]  # gone before the hold was taken


def test_sync_tree_flushes_small_and_large_trees(tmp_path):
    for count in (3, SYNC_FILES_MAX + 5):
        root = tmp_path / f"t{count}"
        (root / "sub").mkdir(parents=True)
        for n in range(count):
            (root / "sub" / f"f{n}").write_text("x")
        os.symlink("sub/f0", root / "link")
        os.mkfifo(root / "fifo")  # never opened (it would block)
        sync_tree(root)


def test_abandoned_partials_skip_locked_and_recent_ones(tmp_path):
    store = Store(Home(tmp_path))
    folder = store.root / PARTIAL_DIR
    folder.mkdir(parents=True)
    for name in ("a", "b", "c"):
        (folder / f"{name}.part").write_text("x")
    (folder / "a.lock").touch()
    fd = os.open(folder / "b.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert [p.name for p in store.abandoned_partials()] == ["a.part", "c.part"]
        assert list(store.abandoned_partials(older_than=time.time() - 3600)) == []
    finally:
        os.close(fd)


def test_run_dirs_are_unique_and_held_while_running(tmp_path):
    store = Store(Home(tmp_path))
    a, b = store.new_run_dir("r", "k" * 8), store.new_run_dir("r", "k" * 8)
    assert a != b and b.name.endswith("~1")
    with store.hold("runner") as holds:
        holds.add_run(a)
        assert store.run_in_use(a) and not store.run_in_use(b)
        with pytest.raises(CacheError, match="still running"):
            store.remove_run(a)
    store.remove_run(a)
    assert not a.exists() and store.run_dirs() == [b]
