import time

from cmx.cache.store import Store, parse_duration
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
