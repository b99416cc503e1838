"""The cache never serves a stale, half-written or concurrently corrupted entry."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import run_cmx, store_entries

SLOW = """
cache: true
tags: [slow, build]
input_mapping:
  seconds: SLOW_SECONDS
new_env_keys: [SLOW_*]
"""
SLOW_RUN = """
echo start > part1.txt
sleep "${SLOW_SECONDS:-0.3}"
echo "payload-$SLOW_SECONDS" > result.txt
echo "SLOW_RESULT=$PWD/result.txt" >> tmp-run-env.out
echo "SLOW_PID=$$" >> tmp-run-env.out
"""


def test_env_change_invalidates_the_cache(repo, cmx):
    repo.add("echo-x", "tags: [echo, x]\ncache: true\nnew_env_keys: [OUT_*]\n",
             'echo "OUT_X=$X" >> tmp-run-env.out\n')
    first = cmx("run", "script", "--tags=echo,x", "--env.X=1", "-j").json
    second = cmx("run", "script", "--tags=echo,x", "--env.X=2", "-j").json
    again = cmx("run", "script", "--tags=echo,x", "--env.X=1", "-j").json
    assert first["new_env"]["OUT_X"] == "1" and not first["cached"]
    assert second["new_env"]["OUT_X"] == "2" and not second["cached"]
    assert again["new_env"]["OUT_X"] == "1" and again["cached"]
    assert first["cache_path"] != second["cache_path"]


def test_recipe_content_change_invalidates_the_cache(repo, cmx):
    d = repo.add("c", "tags: [c]\ncache: true\nnew_env_keys: [V]\n", 'echo "V=1" >> tmp-run-env.out\n')
    assert cmx("run", "script", "--tags=c", "-j").json["new_env"]["V"] == "1"
    time.sleep(0.01)
    (d / "run.sh").write_text('echo "V=2" >> tmp-run-env.out\n')
    out = cmx("run", "script", "--tags=c", "-j").json
    assert out["new_env"]["V"] == "2" and not out["cached"]
    why = cmx("explain", "script", "--tags=c", "--env.Z=1", "-j").json
    assert why["explain"], why


def test_failed_build_is_never_reused(repo, cmx, home):
    repo.add("flaky", "tags: [flaky]\ncache: true\nnew_env_keys: [F]\n",
                 'echo half > half.txt\nif [ ! -e "$MARK" ]; then exit 7; fi\necho "F=ok" >> tmp-run-env.out\n')
    mark = home / "mark"
    bad = cmx("run", "script", "--tags=flaky", f"--env.MARK={mark}")
    assert bad.code == 1 and "exit code 7" in bad.err
    assert store_entries(home) == []
    failed = list((home / "cache" / ".failed").iterdir())
    assert len(failed) == 1 and (failed[0] / "half.txt").exists() and (failed[0] / "cmx-run.log").exists()
    mark.write_text("")
    good = cmx("run", "script", "--tags=flaky", f"--env.MARK={mark}", "-j")
    assert good.code == 0 and not good.json["cached"] and good.json["new_env"]["F"] == "ok"


def test_eight_concurrent_runs_build_once(repo, home):
    repo.add("slow", SLOW, SLOW_RUN)

    def one(_):
        return run_cmx("run", "script", "--tags=slow,build", "--seconds=1", "-j", "-q", home=home)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(r.code == 0 for r in results), [r.err for r in results]
    outs = [r.json for r in results]
    assert sum(not o["cached"] for o in outs) == 1
    assert len({o["new_env"]["SLOW_PID"] for o in outs}) == 1
    assert len({o["cache_path"] for o in outs}) == 1
    assert len(store_entries(home)) == 1


def test_kill_9_at_random_moments_leaves_nothing_reusable(repo, home):
    repo.add("slow", SLOW, SLOW_RUN)
    rng = random.Random(1234)
    env = dict(os.environ, CMX_HOME=str(home))
    cmd = [sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=slow,build", "--seconds=0.3", "-q"]
    t = time.monotonic()  # how long a whole run takes on this machine now, to spread the kills over it
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    window = time.monotonic() - t
    for entry in store_entries(home):
        subprocess.run(["rm", "-rf", str(entry)], check=True)
    kills = attempts = 0
    while kills < 20:  # kill at 20 random moments of a run (start-up, build, publish)
        attempts += 1
        assert attempts <= 400, f"only {kills} of {attempts} runs were still going when killed"
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        time.sleep(rng.uniform(0.0, window))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        else:  # the machine got faster than when the run was timed: aim inside this run's length
            window = min(window, time.monotonic() - started)
        proc.wait()
        for entry in store_entries(home):  # anything published must be complete
            assert (entry / "cmx-entry.json").is_file()
            assert (entry / "result.txt").read_text().strip() == "payload-0.3"
        for entry in store_entries(home):  # start over, so every attempt can be killed mid-build
            subprocess.run(["rm", "-rf", str(entry)], check=True)
    # the scripts of killed runs: stopped by cmx's watchdog (SIGTERM, SIGKILL after a grace), waited for
    deadline = time.monotonic() + 120
    while _running_in(home):
        assert time.monotonic() < deadline, _running_in(home)
        time.sleep(0.1)
    res = run_cmx("run", "script", "--tags=slow,build", "--seconds=0.3", "-j", home=home)
    assert res.code == 0, res.err
    path = res.json["cache_path"]
    assert open(os.path.join(path, "result.txt")).read().strip() == "payload-0.3"
    assert res.json["new_env"]["SLOW_RESULT"] == os.path.join(path, "result.txt")
    again = run_cmx("run", "script", "--tags=slow,build", "--seconds=0.3", "-j", home=home).json
    assert again["cached"] and again["cache_path"] == path
    tmp = home / "cache" / ".tmp"
    left = len(list(tmp.iterdir())) if tmp.is_dir() else 0  # builds of killed runs: never published, never reused
    gc = run_cmx("gc", "cache", "-j", home=home).json
    assert gc["orphan_builds"] == left
    assert not tmp.is_dir() or not any(tmp.iterdir())


def _running_in(folder) -> list[int]:
    """Processes whose working directory is inside ``folder``."""
    import psutil

    out = []
    for proc in psutil.process_iter():
        try:
            if proc.cwd().startswith(f"{folder}{os.sep}"):
                out.append(proc.pid)
        except (psutil.Error, OSError):
            pass
    return out


def test_exported_build_paths_point_at_the_published_entry(repo, cmx):
    repo.add("slow", SLOW, SLOW_RUN)
    out = cmx("run", "script", "--tags=slow,build", "--seconds=0", "-j").json
    assert out["new_env"]["SLOW_RESULT"].startswith(out["cache_path"])
    assert os.path.isfile(out["new_env"]["SLOW_RESULT"])
    assert ".tmp" not in out["new_env"]["SLOW_RESULT"]


def test_relocate_files_fix_paths_embedded_in_build_outputs(repo, cmx):
    repo.add("tool", "tags: [tool]\ncache: true\nrelocate_files: ['bin/*']\nnew_env_keys: [TOOL_BIN, ENTRY]\n", """
        mkdir -p bin data
        echo hello > data/msg
        printf '#!/bin/sh\\ncat %s/data/msg\\n' "$PWD" > bin/tool
        chmod +x bin/tool
        echo "TOOL_BIN=$PWD/bin/tool" >> tmp-run-env.out
        echo "ENTRY=$CMX_ENTRY_PATH" >> tmp-run-env.out
        """)
    out = cmx("run", "script", "--tags=tool", "-j").json
    tool = out["new_env"]["TOOL_BIN"]
    assert out["new_env"]["ENTRY"] == out["cache_path"]
    import subprocess
    assert subprocess.run([tool], capture_output=True, text=True).stdout.strip() == "hello"


def test_removing_an_entry_removes_what_was_built_on_it(repo, cmx, home):
    repo.add("base", "tags: [base]\ncache: true\n", "true\n")
    repo.add("top", "tags: [top]\ncache: true\ndeps: [{tags: base}]\n", "true\n")
    repo.add("other", "tags: [other]\ncache: true\n", "true\n")
    cmx("run", "script", "--tags=top")
    cmx("run", "script", "--tags=other")
    assert len(store_entries(home)) == 3
    res = cmx("rm", "cache", "--tags=base", "-f", "-j")
    assert len(res.json["removed"]) == 2
    assert [e["alias"] for e in cmx("show", "cache", "-j").json] == ["other"]
