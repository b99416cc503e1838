"""`cmx run experiment` end to end: the product of explored values, resume, failures, results."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HELLO = ("run", "experiment", "--tags=print,hello-world", "--explore.name=ann,bob,cid",
         "--explore.variation=_text,_json", "-j")


def test_six_points_then_a_rerun_skips_them(cmx, home):
    first = cmx(*HELLO)
    assert first.code == 0, first.err
    points = first.json["points"]
    assert len(points) == 6
    assert [p["inputs"] for p in points][:2] == [{"name": "ann", "variation": "_text"},
                                                 {"name": "ann", "variation": "_json"}]
    assert all(p["status"] == "ok" and p["cached"] is False for p in points)
    messages = {(p["inputs"]["name"], p["inputs"]["variation"]): p["new_env"]["CMX_HELLO_MESSAGE"] for p in points}
    assert messages[("bob", "_text")] == "Hello bob"
    assert messages[("cid", "_json")] == '{"message": "Hello cid"}'
    again = cmx(*HELLO)
    assert again.code == 0, again.err
    assert [p["cached"] for p in again.json["points"]] == [True] * 6
    assert [p["point_id"] for p in again.json["points"]] == [p["point_id"] for p in points]
    with open(again.json["tables"]["csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and rows[3]["name"] == "bob" and rows[3]["variation"] == "_json"
    assert rows[3]["env.CMX_HELLO_MESSAGE"] == '{"message": "Hello bob"}'
    import pyarrow.parquet as pq

    table = pq.read_table(again.json["tables"]["parquet"]).to_pylist()
    assert [r["name"] for r in table] == ["ann", "ann", "bob", "bob", "cid", "cid"]


def test_dry_run_shows_the_whole_experiment_and_runs_nothing(cmx, home):
    res = cmx(*HELLO, "--dry-run")
    assert res.code == 0, res.err
    out = res.json
    assert out["dry_run"] is True and len(out["points"]) == 6
    assert all(p["status"] == "planned" for p in out["points"])
    shared = [n for n in out["plan"] if n["recipe"] == "detect-os"]
    assert len(shared) == 1 and shared[0]["points"] == 6  # planned once for all six points
    assert len([n for n in out["plan"] if n["recipe"] == "print-hello-world"]) == 6
    assert not Path(out["experiment"]).exists()
    assert not (home / "cache" / "store").exists() or not any((home / "cache" / "store").iterdir())


@pytest.mark.parametrize("flags, words", [
    (["--explore.nam=a,b"], ["--explore.nam", "did you mean --explore.name"]),
    (["--explore.name=a", "--explore.greeting=5:1"], ["--explore.greeting", "range is empty"]),
    (["--explore.name="], ["--explore.name", "no values"]),
    (["--explore.variation=_text,_bogus"], ["--explore.variation=_bogus", "no variation"]),
    (["--explore.name=a,b,c", "--max_points=2"], ["3 points", "--max_points=3"]),
    (["--explore.name=1:2000"], ["2,000 points", "--max_points=1,000"]),
])
def test_bad_input_exits_2_before_anything_runs(cmx, home, flags, words):
    res = cmx("run", "experiment", "--tags=print,hello-world", *flags)
    assert res.code == 2, res.err
    for w in words:
        assert w in res.err
    assert "Traceback" not in res.err
    assert not (home / "cache" / "experiments").exists()


NUMBERS = """
tags: [square]
cache: true
input_mapping: {x: SQ_X, fail_at: SQ_FAIL_AT}
new_env_keys: [SQ_*]
"""
SQUARE = 'if [ "$SQ_X" = "$SQ_FAIL_AT" ]; then echo "no square for $SQ_X" >&2; exit 3; fi\n' \
         'echo "SQ_Y=$((SQ_X * SQ_X))" >> tmp-run-env.out\n'


def test_failing_point_is_recorded_and_the_others_run(repo, cmx, home):
    repo.add("square", NUMBERS, SQUARE)
    res = cmx("run", "experiment", "--tags=square", "--explore.x=1:4", "--fail_at=2", "--plot=x,env.SQ_Y", "-j")
    assert res.code == 1
    out = json.loads(res.out)
    status = [p["status"] for p in out["points"]]
    assert status == ["ok", "failed", "ok", "ok"]
    assert "exit status 3" in out["points"][1]["reason"] or "3" in out["points"][1]["reason"]
    assert [p["new_env"]["SQ_Y"] for p in out["points"] if p["status"] == "ok"] == ["1", "9", "16"]
    png = Path(out["plots"][0])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stopped = cmx("run", "experiment", "--tags=square", "--explore.x=1:4", "--fail_at=1", "--fail_fast",
                  "--restart", "-j")
    assert stopped.code == 1
    assert [p["status"] for p in json.loads(stopped.out)["points"]] == ["failed", "not-run", "not-run", "not-run"]


SLOW = """
tags: [slow, step]
cache: false
input_mapping: {name: STEP_NAME, log: STEP_LOG, gate: STEP_GATE}
"""
SLOW_RUN = 'echo "$STEP_NAME" >> "$STEP_LOG"\n' \
           'if [ "$STEP_NAME" = c ]; then while [ ! -e "$STEP_GATE" ]; do sleep 0.05; done; fi\n'


def test_kill_9_in_the_middle_then_resume(repo, home, tmp_path):
    repo.add("slow-step", SLOW, SLOW_RUN)
    log, gate = tmp_path / "steps.log", tmp_path / "gate"
    argv = [sys.executable, "-m", "cmx.cli.main", "run", "experiment", "--tags=slow,step",
            "--explore.name=a,b,c,d", f"--log={log}", f"--gate={gate}", "-j"]
    env = dict(os.environ, CMX_HOME=str(home))
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (log.exists() and "c" in log.read_text().split()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    gate.touch()  # c's record is never written (its parent is dead); the watchdog stops its process
    env_res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert env_res.returncode == 0, env_res.stderr
    points = json.loads(env_res.stdout)["points"]
    assert [(p["inputs"]["name"], p["cached"]) for p in points] == [("a", True), ("b", True), ("c", False),
                                                                    ("d", False)]
    steps = log.read_text().split()
    assert sorted(steps) == ["a", "b", "c", "c", "d"]  # a and b ran once; c again after the kill


HOLD = """
tags: [hold, step]
cache: false
input_mapping: {name: STEP_NAME, log: STEP_LOG, gate: STEP_GATE, hold: STEP_HOLD}
"""
# a point named in --hold writes its pid and waits for the gate (at most 120 s, then fails)
HOLD_RUN = 'echo "$STEP_NAME" >> "$STEP_LOG"\n' \
           'case ",$STEP_HOLD," in *",$STEP_NAME,"*) echo $$ > "$STEP_LOG.$STEP_NAME.pid"; n=0;\n' \
           '  while [ ! -e "$STEP_GATE" ]; do n=$((n+1)); [ $n -gt 2400 ] && exit 4; sleep 0.05; done;; esac\n'


def _wait_until(cond, what: str, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the experiment exited before {what}: " + (proc.stderr.read().decode() if proc.stderr else ""))
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] == "Z"


@pytest.mark.parametrize("sig, jobs, held", [(signal.SIGTERM, "1", ("c",)), (signal.SIGINT, "2", ("c", "d"))])
def test_a_signal_records_the_points_in_flight_as_interrupted_then_resume_runs_them(repo, home, tmp_path, sig, jobs, held):
    repo.add("hold-step", HOLD, HOLD_RUN)
    log, gate, folder = tmp_path / "steps.log", tmp_path / "gate", tmp_path / "exp"
    argv = [sys.executable, "-m", "cmx.cli.main", "run", "experiment", "--tags=hold,step", "--explore.name=a,b,c,d",
            f"--log={log}", f"--gate={gate}", f"--hold={','.join(held)}", f"--experiment_dir={folder}", "--jobs", jobs, "-j"]
    env = dict(os.environ, CMX_HOME=str(home))
    # the signals at their defaults: a runner started as a background job has SIGINT ignored, and cmx keeps that
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_signals)
    pids = [Path(f"{log}.{n}.pid") for n in held]
    _wait_until(lambda: all(p.exists() and p.read_text().strip() for p in pids), "the held points to start", proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err.decode()
    assert f"interrupted by {sig.name}" in err.decode()
    # the held points' scripts were stopped with the experiment (nothing released the gate)
    for p in pids:
        pid = int(p.read_text())
        _wait_until(lambda: _gone(pid), f"the script of {p.name} to stop", timeout=60)
    records = {}
    for f in (folder / "points").glob("*.json"):
        rec = json.loads(f.read_text())
        records[rec["inputs"]["name"]] = rec
    assert sorted(records) == ["a", "b", *held]  # d, when not held, never started: no record
    assert [records[n]["status"] for n in ("a", "b")] == ["ok", "ok"]
    for n in held:
        assert records[n]["status"] == "interrupted"
        assert records[n]["reason"].startswith(f"interrupted by {sig.name} while running")
    with open(folder / "results.csv", newline="") as fh:
        table = {r["name"]: r["status"] for r in csv.DictReader(fh)}
    assert table == {"a": "ok", "b": "ok", **{n: "interrupted" for n in held}}
    dry = subprocess.run([*argv, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert {p["inputs"]["name"]: p["previous_status"] for p in json.loads(dry.stdout)["points"]} == \
        {"a": None, "b": None, "c": "interrupted" if "c" in held else None, "d": "interrupted" if "d" in held else None}
    gate.touch()
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    for n in held:
        assert f"name={n}: interrupted last time (interrupted by {sig.name}" in again.stderr
    points = {p["inputs"]["name"]: p for p in json.loads(again.stdout)["points"]}
    assert [(n, points[n]["status"], points[n]["cached"]) for n in "abcd"] == \
        [("a", "ok", True), ("b", "ok", True), ("c", "ok", False), ("d", "ok", False)]
    assert [points[n].get("previous_status") for n in held] == ["interrupted"] * len(held)
    assert sorted(log.read_text().split()) == sorted(["a", "b", "c", "d", *held])  # the held ones ran twice


PAR = """
tags: [par, probe-meet]
cache: false
input_mapping: {name: PAR_NAME, dir: PAR_DIR}
"""
# every point waits (at most 60 s) until all three have started: it passes only when they run side by side
PAR_RUN = 'touch "$PAR_DIR/$PAR_NAME"\n' \
          'n=0; while [ "$(ls "$PAR_DIR" | wc -l)" -lt 3 ]; do n=$((n+1)); [ $n -gt 1200 ] && exit 4; sleep 0.05; done\n'
# an exclusive point fails when another is in flight (mkdir is atomic)
EXCL_RUN = 'mkdir "$PAR_DIR/busy" || exit 5\nsleep 0.2\nrmdir "$PAR_DIR/busy"\n'


def test_jobs_run_points_side_by_side_unless_exclusive(repo, cmx, tmp_path):
    meet = tmp_path / "meet"
    meet.mkdir()
    repo.add("par", PAR, PAR_RUN)
    res = cmx("run", "experiment", "--tags=par,probe-meet", "--explore.name=a,b,c", f"--dir={meet}", "--jobs", "3", "-j")
    assert res.code == 0, res.err
    busy = tmp_path / "busy"
    busy.mkdir()
    repo.add("excl", PAR.replace("probe-meet", "excl") + "exclusive: true\n", EXCL_RUN)
    res = cmx("run", "experiment", "--tags=par,excl", "--explore.name=a,b,c,d", f"--dir={busy}", "--jobs", "4", "-j")
    assert res.code == 0, res.err
    assert "one at a time" in res.err and "excl is exclusive" in res.err
