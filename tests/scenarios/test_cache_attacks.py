"""Attacks on the cache from issue 10 that once broke it, kept as tests: gc on an expired probe,
removing a dependency while a dependent builds, editing a recipe during its build, concurrent
uncached runs, corrupt entries, abandoned partial downloads, a --lock path that cannot be written."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cmx, store_entries

PROBE = "tags: [pr]\nprobe: true\ncache: true\ncache_expiration: 1h\nnew_env_keys: [PR_*]\n"
PROBE_RUN = 'echo "PR_OS=${PR_FLAVOUR:-plain}" >> tmp-run-env.out\n'
USER = "tags: [user]\ncache: true\ndeps: [{tags: pr}]\nnew_env_keys: [USER_*]\n"
USER_RUN = 'echo "USER_BUILT=$(date +%s%N)-$$" >> tmp-run-env.out\n'


def _wait_for(path: Path, proc: subprocess.Popen, what: str) -> None:
    """Wait until ``path`` exists (a handshake with a running script), or fail if the run ended."""
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        time.sleep(0.02)


def _background(home: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, CMX_HOME=str(home))
    return subprocess.Popen([sys.executable, "-m", "cmx.cli.main", *args], env=env, cwd=home,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- #2: gc and expired probes -------------------------------------------------------------------
def test_gc_keeps_what_is_built_on_an_expired_probe(repo, cmx, home):
    repo.add("pr", PROBE, PROBE_RUN)
    repo.add("user", USER, USER_RUN)
    built = cmx("run", "script", "--tags=user", "-j").json
    lonely = cmx("run", "script", "--tags=pr", "--env.PR_FLAVOUR=other", "-j").json  # nothing is built on it
    later = {"CMX_CLOCK_SHIFT": "2h"}  # both probe entries have expired by then
    shown = {r["key"]: r for r in cmx("show", "cache", "-j", env=later).json}
    assert shown[lonely["key"]]["expired"] and not shown[built["key"]]["expired"]
    gc = cmx("gc", "cache", "-j", env=later)
    assert gc.code == 0, gc.err
    assert gc.json["removed"] == [lonely["key"]]  # the expired probe nothing is built on
    probe_key = next(r["key"] for r in built["plan"] if r["recipe"] == "pr")
    assert gc.json["kept"] == [probe_key]
    assert "re-checks" in gc.err
    assert {r["key"] for r in cmx("show", "cache", "-j").json} == {built["key"], probe_key}
    # the next run re-checks the probe; its output is unchanged, so the dependent is a hit again
    again = cmx("run", "script", "--tags=user", "-j", env=later).json
    assert again["cached"] and again["new_env"] == built["new_env"] and again["key"] == built["key"]
    assert cmx("gc", "cache", "-j", env=later).json["removed"] == []  # the probe is fresh again


def test_gc_of_builtin_hello_world_after_an_hour(cmx, home):
    """The attack as reported: an hourly gc wiped print-hello-world (built on detect-os, 1 h)."""
    first = cmx("run", "script", "--tags=print,hello-world", "-j").json
    later = {"CMX_CLOCK_SHIFT": "61m"}
    gc = cmx("gc", "cache", "-j", env=later).json
    assert first["key"] not in gc["removed"]
    assert first["key"] in {r["key"] for r in cmx("show", "cache", "-j").json}
    again = cmx("run", "script", "--tags=print,hello-world", "-j", env=later).json
    assert again["cached"] and again["cache_path"] == first["cache_path"]


def test_gc_older_than_does_not_cascade_through_a_probe(repo, cmx, home):
    """An old probe entry goes; what was built on it since stays (its key holds the probe's output)."""
    repo.add("pr", PROBE, PROBE_RUN)
    repo.add("user", USER, USER_RUN)
    cmx("run", "script", "--tags=user")
    rebuilt = cmx("run", "script", "--tags=user", "--new", "-j", env={"CMX_CLOCK_SHIFT": "30m"}).json
    probe_key = next(r["key"] for r in rebuilt["plan"] if r["recipe"] == "pr")
    gc = cmx("gc", "cache", "--older-than=15m", "-j", env={"CMX_CLOCK_SHIFT": "31m"}).json
    assert gc["removed"] == [probe_key]
    again = cmx("run", "script", "--tags=user", "-j", env={"CMX_CLOCK_SHIFT": "31m"}).json
    assert again["cached"] and again["new_env"] == rebuilt["new_env"]


# -- #6: rm of a dependency while a dependent builds -------------------------------------------
def test_rm_refuses_to_remove_a_dependency_while_a_dependent_builds(repo, cmx, home, tmp_path):
    repo.add("base", "tags: [base]\ncache: true\nnew_env_keys: [BASE_*]\n",
             'echo data > data.txt\necho "BASE_FILE=$PWD/data.txt" >> tmp-run-env.out\n')
    repo.add("top", "tags: [top]\ncache: true\ndeps: [{tags: base}]\nnew_env_keys: [TOP_*]\n", """
        touch "$GATE.started"
        while [ ! -e "$GATE.go" ]; do sleep 0.05; done
        cp "$BASE_FILE" copy.txt
        echo "TOP_FROM=$BASE_FILE" >> tmp-run-env.out
        """)
    gate = tmp_path / "gate"
    base = cmx("run", "script", "--tags=base", "-j").json
    proc = _background(home, "run", "script", "--tags=top", f"--env.GATE={gate}", "-j")
    try:
        _wait_for(Path(f"{gate}.started"), proc, "the build started")
        refused = cmx("rm", "cache", "--tags=base", "-f")
        assert refused.code == 1, refused.err
        assert f"pid {proc.pid}" in refused.err and "top" in refused.err and "nothing removed" in refused.err
        assert Path(base["cache_path"]).is_dir()
        gc = cmx("gc", "cache", "--older-than=0s", "-j").json  # gc leaves it alone too
        assert base["key"] not in gc["removed"] and base["key"] in gc["in_use"]
    finally:
        Path(f"{gate}.go").touch()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    top = json.loads(out)
    assert top["new_env"]["TOP_FROM"] == os.path.join(base["cache_path"], "data.txt")
    removed = cmx("rm", "cache", "--tags=base", "-f", "-j")  # nothing holds it any more
    assert removed.code == 0 and set(removed.json["removed"]) == {base["key"], top["key"]}


def test_a_dependency_removed_before_the_hold_fails_the_build(repo, cmx, home, tmp_path):
    """A dependency removed between its cache hit and the dependent's build: nothing is cached."""
    repo.add("base", "tags: [base]\ncache: true\n", "true\n")
    repo.add("slowtop", "tags: [slowtop]\ncache: true\ndeps: [{tags: base}, {tags: gatekeeper}]\n", "true\n")
    repo.add("gatekeeper", "tags: [gatekeeper]\n", """
        touch "$GATE.started"
        while [ ! -e "$GATE.go" ]; do sleep 0.05; done
        """)
    gate = tmp_path / "gate"
    cmx("run", "script", "--tags=base")
    proc = _background(home, "run", "script", "--tags=slowtop", f"--env.GATE={gate}")
    try:
        _wait_for(Path(f"{gate}.started"), proc, "the gatekeeper started")
        assert cmx("rm", "cache", "--tags=base", "-f").code == 0  # not held yet: slowtop has not started
    finally:
        Path(f"{gate}.go").touch()
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "was removed from the cache" in err, err
    assert [e["alias"] for e in cmx("show", "cache", "-j").json] == []


# -- #5: editing a recipe during its build ------------------------------------------------------
def test_editing_a_recipe_during_its_build_does_not_poison_the_cache(repo, cmx, home, tmp_path):
    d = repo.add("ed", "tags: [ed]\ncache: true\nnew_env_keys: [ED_*]\n", """
        touch "$GATE.started"
        while [ ! -e "$GATE.go" ]; do sleep 0.05; done
        echo "ED_VALUE=$(cat "$CMX_RECIPE_PATH/value.txt")" >> tmp-run-env.out
        """, files={"value.txt": "one\n"})
    gate = tmp_path / "gate"
    proc = _background(home, "run", "script", "--tags=ed", f"--env.GATE={gate}", "-j")
    try:
        _wait_for(Path(f"{gate}.started"), proc, "the build started")
        (d / "value.txt").write_text("two\n")  # the build reads the edited file
    finally:
        Path(f"{gate}.go").touch()
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "changed while it was building" in err and "value.txt" in err, err
    assert store_entries(home) == []
    (d / "value.txt").write_text("one\n")  # reverted: must rebuild, never serve "two"
    Path(f"{gate}.go").touch()
    out = cmx("run", "script", "--tags=ed", f"--env.GATE={gate}", "-j").json
    assert out["new_env"]["ED_VALUE"] == "one" and not out["cached"]


# -- #8: concurrent uncached runs ---------------------------------------------------------------
def _in_threads(n: int, fn) -> None:
    threads = [threading.Thread(target=fn) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_uncached_runs_each_get_their_own_folder(repo, home):
    repo.add("nc", "tags: [nc]\nnew_env_keys: [NC_*]\n", 'echo "NC_DIR=$PWD" >> tmp-run-env.out\n')
    import cmx

    assert cmx.access({"action": "run", "automation": "script", "tags": "nc", "quiet": True})["return"] == 0
    results: list[dict] = []
    lock = threading.Lock()

    def one() -> None:
        for _ in range(10):
            out = cmx.access({"action": "run", "automation": "script", "tags": "nc", "quiet": True})
            with lock:
                results.append(out)

    _in_threads(8, one)
    assert [r.get("error") for r in results if r["return"] != 0] == []
    dirs = [r["new_env"]["NC_DIR"] for r in results]
    assert len(set(dirs)) == len(dirs) == 80


def test_new_run_dir_never_collides(tmp_path):
    from cmx.cache.store import Store
    from cmx.home import Home

    store = Store(Home(tmp_path))
    made: list[Path] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def one() -> None:
        barrier.wait()
        try:
            for _ in range(25):
                made.append(store.new_run_dir("r", "k" * 8))
        except BaseException as exc:  # noqa: BLE001 - any error is the failure under test
            errors.append(exc)

    _in_threads(16, one)
    assert errors == [] and len(set(made)) == len(made) == 400


# -- Low: corrupt entries -----------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"{not json", b"[]", b"", b"\xff\xfe", b'{"format": 1, "key": "x"}',
                                     b"CORRUPT-EXPIRES"])
def test_a_corrupt_entry_is_reported_and_skipped(repo, cmx, home, content):
    repo.add("c", "tags: [c]\ncache: true\nnew_env_keys: [C_*]\n", 'echo "C_V=1" >> tmp-run-env.out\n')
    repo.add("d", "tags: [d]\ncache: true\n", "true\n")
    first = cmx("run", "script", "--tags=c", "-j").json
    cmx("run", "script", "--tags=d")
    entry = Path(first["cache_path"]) / "cmx-entry.json"
    if content == b"CORRUPT-EXPIRES":
        record = json.loads(entry.read_text())
        record["expires"] = "soon"
        content = json.dumps(record).encode()
    entry.write_bytes(content)
    shown = cmx("show", "cache", "-j")
    assert shown.code == 0 and "unusable cache entry" in shown.err and "internal error" not in shown.err
    assert [r["alias"] for r in shown.json] == ["d"]
    again = cmx("run", "script", "--tags=c", "-j")  # rebuilt in place of the corrupt one
    assert again.code == 0 and not again.json["cached"] and again.json["new_env"]["C_V"] == "1", again.err
    assert "unusable cache entry" in again.err and "rebuilding" in again.err
    entry.write_bytes(content)
    gc = cmx("gc", "cache", "-j")
    assert gc.code == 0 and gc.json["unusable"] == 1, gc.err
    assert not Path(first["cache_path"]).exists()
    assert [r["alias"] for r in cmx("show", "cache", "-j").json] == ["d"]


# -- #10: abandoned partial downloads ----------------------------------------------------------
def test_gc_removes_abandoned_partial_downloads_but_not_one_in_use(cmx, home):
    folder = home / "cache" / ".partial-downloads"
    folder.mkdir(parents=True)
    abandoned = folder / ("a" * 32 + ".part")
    abandoned.write_bytes(b"x" * 1000)
    (folder / ("a" * 32 + ".lock")).touch()
    busy = folder / ("b" * 32 + ".part")
    busy.write_bytes(b"y" * 1000)
    fd = os.open(folder / ("b" * 32 + ".lock"), os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a download in progress holds its partial's lock
    try:
        dry = cmx("gc", "cache", "-n", "-j").json
        assert dry["partial_downloads"] == 1 and abandoned.exists()
        gc = cmx("gc", "cache", "-j").json
        assert gc["partial_downloads"] == 1
        assert not abandoned.exists() and busy.exists()
    finally:
        os.close(fd)
    assert cmx("gc", "cache", "--older-than=1d", "-j").json["partial_downloads"] == 0  # recent: kept
    assert cmx("gc", "cache", "-j").json["partial_downloads"] == 1 and not busy.exists()


# -- Low: --lock into a folder that cannot hold it ----------------------------------------------
def test_lock_path_is_checked_before_anything_runs(repo, cmx, home, tmp_path):
    repo.add("lk", "tags: [lk]\ncache: true\n", "true\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bad = cmx("run", "script", "--tags=lk", f"--lock={blocker}/sub/lock.json")
    assert bad.code == 2 and "--lock" in bad.err and "internal error" not in bad.err, bad.err
    assert store_entries(home) == []
    is_dir = cmx("run", "script", "--tags=lk", f"--lock={tmp_path}")
    assert is_dir.code == 2 and "--lock" in is_dir.err and store_entries(home) == []
    good = cmx("run", "script", "--tags=lk", f"--lock={tmp_path}/new/lock.json")
    assert good.code == 0 and (tmp_path / "new" / "lock.json").is_file()


def test_an_entry_built_on_a_vanished_dependency_is_rebuilt_not_served(repo, cmx, home):
    """A dependent whose (non-probe) dependency was removed behind cmx's back, e.g. by a cmx older
    than the use-locks: never a hit, in the plan or in the run."""
    import shutil

    repo.add("base", "tags: [base]\ncache: true\nnew_env_keys: [BASE_*]\n",
             'echo data > data.txt\necho "BASE_FILE=$PWD/data.txt" >> tmp-run-env.out\n')
    repo.add("top", "tags: [top]\ncache: true\ndeps: [{tags: base}]\nnew_env_keys: [TOP_*]\n",
             'cp "$BASE_FILE" copy.txt\necho "TOP_FROM=$BASE_FILE" >> tmp-run-env.out\n')
    first = cmx("run", "script", "--tags=top", "-j").json
    base_dir = os.path.dirname(first["new_env"]["TOP_FROM"])
    shutil.rmtree(base_dir)
    plan = cmx("run", "script", "--tags=top", "--dry-run", "-j").json["plan"]
    assert [r["status"] for r in plan if r["recipe"] == "top"] != ["hit"], plan
    again = cmx("run", "script", "--tags=top", "-j")
    assert again.code == 0 and "no longer in the cache: that runs first" in again.err, again.err
    assert os.path.isfile(again.json["new_env"]["TOP_FROM"])  # the dependency is back where top points
    assert [r["status"] for r in again.json["plan"] if r["recipe"] == "base"] != ["skip"]
    assert cmx("run", "script", "--tags=top", "-j").json["cached"]
