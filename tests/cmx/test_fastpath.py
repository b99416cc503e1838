"""The memoized replay of fully cached runs must be indistinguishable from the
engine's own answer, and must never outlive anything it was built from."""

from __future__ import annotations

import json
import os
import time

from cmx import fastpath
from tests.conftest import store_entries


def memo_files(home):
    d = home / "cache" / ".index" / "memo"
    return sorted(d.iterdir()) if d.is_dir() else []


def test_replay_matches_the_engine(repo, cmx, home):
    repo.add("a", "tags: [a]\ncache: true\nnew_env_keys: [A]\n", "echo A=1 >> tmp-run-env.out\n")
    first = cmx("run", "script", "--tags=a", "-j")
    assert not first.json["cached"] and memo_files(home) == []  # a build is never memoized
    engine = cmx("run", "script", "--tags=a", "-j")
    assert engine.json["cached"] and len(memo_files(home)) == 1
    replay = cmx("run", "script", "--tags=a", "-j")
    no_memo = cmx("run", "script", "--tags=a", "-j", env={"CMX_NO_MEMO": "1"})
    assert replay.out == engine.out == no_memo.out
    assert replay.err == engine.err


def test_replay_is_refused_when_anything_changed(repo, cmx, home):
    d = repo.add("a", "tags: [a]\ncache: true\nnew_env_keys: [A]\n", "echo A=1 >> tmp-run-env.out\n")
    cmx("run", "script", "--tags=a", "-j")
    cmx("run", "script", "--tags=a", "-j")
    time.sleep(0.01)
    (d / "run.sh").write_text("echo A=2 >> tmp-run-env.out\n")
    out = cmx("run", "script", "--tags=a", "-j").json
    assert out["new_env"]["A"] == "2" and not out["cached"]
    cmx("run", "script", "--tags=a", "-j")  # memoized again
    assert cmx("rm", "cache", "--tags=a", "-f").code == 0
    assert not cmx("run", "script", "--tags=a", "-j").json["cached"]
    repo.add("b", "tags: [a]\nsort: -1\nnew_env_keys: [A]\n", "echo A=b >> tmp-run-env.out\n")  # a new, preferred match
    assert cmx("run", "script", "--tags=a", "-j").json["new_env"]["A"] == "b"


def test_replay_respects_probe_expiry(repo, cmx, home):
    # The memo holds the probe's expiry time and is only replayed with the same CMX_CLOCK_SHIFT, so
    # the real clock has to pass it. The probe lives a few seconds: longer when this machine is too
    # slow to make the three runs inside its life (that is checked, not assumed), then the test
    # waits until the expiry time the probe's entry recorded.
    repo.add("u", "tags: [u]\ncache: true\ndeps: [{tags: p}]\nnew_env_keys: [T]\n", "true\n")
    for life in (2, 10, 60):
        repo.add("p", f"tags: [p]\nprobe: true\ncache: true\ncache_expiration: {life}s\nnew_env_keys: [T]\n",
                 'echo "T=$(date +%s%N)" >> tmp-run-env.out\n')
        a = cmx("run", "script", "--tags=u", "-j").json
        probe_key = next(n["key"] for n in a["plan"] if n["recipe"] == "p")
        expires = next(json.loads((e / "cmx-entry.json").read_text())["expires"] for e in store_entries(home)
                       if e.name == probe_key)  # when the probe entry a made expires
        b = cmx("run", "script", "--tags=u", "-j").json  # the engine: cached, and memoized
        c = cmx("run", "script", "--tags=u", "-j").json  # the replay
        if time.time() < expires:  # b and c both ran inside the life of a's probe
            break
    assert b["cached"] and c == b
    while time.time() <= expires:
        time.sleep(expires - time.time() + 0.01)
    d = cmx("run", "script", "--tags=u", "-j").json
    assert not d["cached"] and d["new_env"]["T"] != a["new_env"]["T"]


def test_what_is_never_replayed(home):
    assert fastpath.eligible(["run", "script", "--tags=a", "-j", "-q"])
    for extra in ("--new", "--dry-run", "-n", "-jv", "--explain", "--lock=x", "--frozen=x", "--skip_cache", "@in.json"):
        assert not fastpath.eligible(["run", "script", "--tags=a", extra])
    assert fastpath.eligible(["find", "script", "--tags=a"])
    assert not fastpath.eligible(["show", "script", "a"]) and not fastpath.eligible(["rm", "cache", "--tags=a", "-f"])


def test_find_replay_follows_new_recipes(repo, cmx, home):
    repo.add("a1", "tags: [fam, a1]\n", "true\n")
    assert cmx("find", "script", "--tags=fam").out.count("\n") == 1
    assert cmx("find", "script", "--tags=fam").out.count("\n") == 1  # replayed
    repo.add("a2", "tags: [fam, a2]\n", "true\n")
    out = cmx("find", "script", "--tags=fam")
    assert out.out.count("\n") == 2 and "a2" in out.out


def test_no_memo_with_a_secret_on_the_command_line(repo, cmx, home):
    repo.add("s", "tags: [s]\ncache: true\n", "true\n")
    cmx("run", "script", "--tags=s", "--env.HF_TOKEN=hf_secret")
    cmx("run", "script", "--tags=s", "--env.HF_TOKEN=hf_secret")
    assert memo_files(home) == []
    for root, _, files in os.walk(home):
        for f in files:
            if f != "cmx-run.log":
                assert "hf_secret" not in open(os.path.join(root, f), errors="replace").read()


def test_replay_follows_a_rebuild_with_new(repo, cmx, home):
    """Issue 10 #4: run twice (memoized), --new, run again: the last run shows the rebuilt output."""
    repo.add("n", "tags: [n]\ncache: true\nnew_env_keys: [N]\n", 'echo "N=$(date +%s%N)-$$" >> tmp-run-env.out\n')
    first = cmx("run", "script", "--tags=n", "-j").json
    assert cmx("run", "script", "--tags=n", "-j").json["cached"]  # memoized now
    assert len(memo_files(home)) == 1
    rebuilt = cmx("run", "script", "--tags=n", "--new", "-j").json
    assert not rebuilt["cached"] and rebuilt["new_env"]["N"] != first["new_env"]["N"]
    last = cmx("run", "script", "--tags=n", "-j").json
    assert last["cached"] and last["new_env"]["N"] == rebuilt["new_env"]["N"]
    again = cmx("run", "script", "--tags=n", "-j").json  # the memo written after the rebuild replays it
    assert again == last


def test_memo_entries_carry_the_entry_stamp(repo, cmx, home):
    repo.add("m", "tags: [m]\ncache: true\n", "true\n")
    cmx("run", "script", "--tags=m", "-j")
    cmx("run", "script", "--tags=m", "-j")
    import json

    memo = json.loads(memo_files(home)[0].read_text())
    (path, _expires, stamp), = memo["entries"]
    st = os.stat(path)
    assert stamp == [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def test_replay_follows_the_allowed_code_paths(repo, cmx, home, tmp_path):
    """A memo made while CMX_ALLOW_CODE_PATHS allowed a folder outside the repository is not replayed
    once it no longer does: the engine refuses the recipe, as it would without the memo."""
    lib = tmp_path / "outside"
    lib.mkdir()
    (lib / "helper.py").write_text("v = 1\n")
    repo.add("o", f"tags: [o]\ncache: true\ncode_paths: [{lib}]\nnew_env_keys: [O]\n", "echo O=1 >> tmp-run-env.out\n")
    allow = {"CMX_ALLOW_CODE_PATHS": str(lib)}
    assert cmx("run", "script", "--tags=o", "-j", env=allow).code == 0
    assert cmx("run", "script", "--tags=o", "-j", env=allow).json["cached"] and len(memo_files(home)) == 1
    assert cmx("run", "script", "--tags=o", "-j", env=allow).json["cached"]  # replayed
    refused = cmx("run", "script", "--tags=o", "-j")
    assert refused.code != 0 and "CMX_ALLOW_CODE_PATHS" in refused.err, refused.out
    assert cmx("run", "script", "--tags=o", "-j", env=allow).json["cached"]
