"""--executor=slurm on a real single-node Slurm cluster (.ci/slurm-up.sh, docs/slurm.md).

The tests skip, naming the reason, when no cluster answers here; `.ci/run` starts one first."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cmx, store_entries


def _slurm_reason() -> str | None:
    if shutil.which("sinfo") is None:
        return "sinfo not found: Slurm is not installed (start one with .ci/slurm-up.sh, see docs/slurm.md)"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s: slurmctld is not running (.ci/slurm-up.sh)"
    if proc.returncode != 0:
        return f"slurmctld is not running ({(proc.stderr.strip().splitlines() or ['no answer'])[0]}): .ci/slurm-up.sh"
    if not any(s.strip().rstrip("*") in ("idle", "mixed", "allocated") for s in proc.stdout.split()):
        return f"no Slurm node is up (sinfo: {proc.stdout.strip() or 'none'}): .ci/slurm-up.sh"
    return None


REASON = _slurm_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

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
"""


def _without_home(value: object, home: Path) -> object:
    return json.loads(json.dumps(value).replace(str(home), "HOME"))


def test_script_through_slurm_is_the_local_run(tmp_path):
    """Same JSON (paths aside), same cache entries as a local run; a local run afterwards is a hit."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    args = ("run", "script", "--tags=print,hello-world", "--name=X", "-j")
    remote = run_cmx(*args[:-1], "--executor=slurm", "-j", home=a)
    assert remote.code == 0, remote.err
    assert "slurm: 0 pending, 0 running, 1 done, 0 failed (of 1)" in remote.err
    local = run_cmx(*args, home=b)
    assert local.code == 0, local.err
    r, l = remote.json, local.json
    for field in ("recipe", "new_env", "new_state", "cached", "cache_path", "version", "key", "plan"):
        assert _without_home(r[field], a) == _without_home(l[field], b), field
    assert [p.name for p in store_entries(a)] == [p.name for p in store_entries(b)]
    again = run_cmx(*args, home=a)
    assert again.code == 0 and again.json["cached"] and again.json["cache_path"] == r["cache_path"]


def test_the_job_executes_the_shipped_plan_and_never_plans(tmp_path):
    """The plan is made once, on the submitting machine: with CMX_TRACE=1 (exported to the job by sbatch)
    the submitter's stderr has the planner's trace line, the job's log has the executor's and neither the
    planner's nor the recipe index's (no meta read to plan)."""
    home = tmp_path / "h"
    home.mkdir()
    out = run_cmx("run", "script", "--tags=print,hello-world", "--name=Tr", "--executor=slurm", "-j", home=home,
                  env={"CMX_TRACE": "1"})
    assert out.code == 0, out.err
    assert out.json["new_env"]["CMX_HELLO_MESSAGE"] == "Hello Tr"
    assert "cmx: trace: plan " in out.err and "cmx: trace: execute " not in out.err  # planned here, not run here
    (log,) = (home / "cache" / "slurm").glob("*/*/*_log.err")
    job = log.read_text()
    assert "cmx: trace: execute runs a plan of" in job, job
    assert "cmx: trace: plan " not in job and "cmx: trace: index " not in job, job


def test_experiment_points_are_a_job_array_and_a_rerun_submits_nothing(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    args = ("run", "experiment", "--tags=print,hello-world", "--explore.name=ann,bob,cy", "--executor=slurm", "-j")
    first = run_cmx(*args, home=home)
    assert first.code == 0, first.err
    assert "submitted 3 as Slurm job array" in first.err
    out = first.json
    assert out["summary"]["ok"] == 3
    msgs = sorted(p["new_env"]["CMX_HELLO_MESSAGE"] for p in out["points"])
    assert msgs == ["Hello ann", "Hello bob", "Hello cy"]
    jobs = {json.loads(p.read_text())["slurm_job_id"] for p in Path(out["experiment"]).glob("points/*.json")}
    assert len({j.split("_")[0] for j in jobs}) == 1 and len(jobs) == 3  # one array, three tasks
    before = sorted(p.name for p in (Path(out["experiment"]) / "slurm").iterdir())
    again = run_cmx(*args, home=home)
    assert again.code == 0, again.err
    assert "all 3 points already done; nothing submitted" in again.err
    assert again.json["summary"]["skipped"] == 3
    assert sorted(p.name for p in (Path(out["experiment"]) / "slurm").iterdir()) == before


def test_scancel_mid_build_leaves_no_entry_and_is_reported(repo, home):
    repo.add("slow", SLOW, SLOW_RUN)
    env = dict(os.environ, CMX_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=slow,build",
                             "--seconds=60", "--executor=slurm"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list((home / "cache").rglob("part1.txt")):  # the build has started on the node
            assert time.monotonic() < deadline and proc.poll() is None, "the build never started"
            time.sleep(0.1)
        job_dirs = [p for p in (home / "cache" / "slurm").glob("*/*") if p.is_dir()]
        job_id = job_dirs[0].name
        subprocess.run(["scancel", job_id], check=True)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert f"Slurm job {job_id} CANCELLED" in err
    assert "log: " in err and "re-run: cmx run script" in err and "--executor=slurm" in err
    assert store_entries(home) == []


def test_two_concurrent_submissions_build_a_shared_dependency_once(repo, home, tmp_path):
    count = tmp_path / "builds.txt"
    repo.add("shared", "tags: [shared, dep]\ncache: true\nnew_env_keys: [SHARED_*]\n",
             f'echo built >> "{count}"\nsleep 2\necho "SHARED_AT=$PWD" >> tmp-run-env.out\n')
    for name in ("top-a", "top-b"):
        repo.add(name, f"tags: [{name}]\ncache: true\ndeps:\n  - tags: shared,dep\n"
                       f"new_env_keys: [TOP_*]\n", 'echo "TOP_SAW=$SHARED_AT" >> tmp-run-env.out\n')
    env = dict(os.environ, CMX_HOME=str(home))
    procs = [subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "run", "script", f"--tags={name}",
                               "--executor=slurm", "-j"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("top-a", "top-b")]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert count.read_text().splitlines() == ["built"]
    saw = {json.loads(o[0])["new_env"]["TOP_SAW"] for o in outs}
    assert len(saw) == 1 and saw.pop().startswith(str(home / "cache" / "store"))


def test_a_recipe_changed_after_planning_fails_the_job_clearly(repo, home, tmp_path):
    """The job runs the plan made at submission: a recipe file edited before the job starts is refused,
    naming the recipe and the file (exit 2), and nothing runs."""
    ran = tmp_path / "ran"
    d = repo.add("edited", "tags: [edited]\ncache: true\nnew_env_keys: [E]\n",
                 f'echo one >> "{ran}"\necho "E=one" >> tmp-run-env.out\n')
    env = dict(os.environ, CMX_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=edited", "--executor=slurm",
                             "--slurm.extra=--hold", "-j"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while not [p for p in (home / "cache" / "slurm").glob("*/*") if p.is_dir()]:  # submitted, held
            assert time.monotonic() < deadline and proc.poll() is None, "never submitted"
            time.sleep(0.1)
        (job_dir,) = [p for p in (home / "cache" / "slurm").glob("*/*") if p.is_dir()]
        (d / "run.sh").write_text(f'echo two >> "{ran}"\necho "E=two" >> tmp-run-env.out\n')  # after planning
        subprocess.run(["scontrol", "release", job_dir.name], check=True, timeout=60)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    assert f"Slurm job {job_dir.name} FAILED: the plan shipped to this job is out of date: recipe 'edited' " \
           f"changed since it was planned (run.sh in {d})" in err
    assert json.loads(out)["slurm"]["job_id"] == job_dir.name
    assert not ran.exists() and store_entries(home) == []  # nothing ran


def test_an_experiment_task_runs_its_point_from_the_submitted_plan(repo, home):
    """Each array task gets its point's lock: a recipe edited after submission fails the task, by name."""
    d = repo.add("edited", "tags: [edited]\ncache: true\ninput_mapping:\n  n: EDITED_N\nnew_env_keys: [E]\n",
                 'echo "E=$EDITED_N" >> tmp-run-env.out\n')
    sub = run_cmx("run", "experiment", "--tags=edited", "--explore.n=1,2", "--executor=slurm", "--detach",
                  "--slurm.extra=--hold", "-j", home=home)
    assert sub.code == 0, sub.err
    array = sub.json["points"][0]["slurm_job_id"].split("_")[0]
    (d / "run.sh").write_text('echo "E=changed" >> tmp-run-env.out\n')
    subprocess.run(["scontrol", "release", array], check=True)
    logs = [Path(sub.json["experiment"]) / "logs" / f"{p['point_id']}.log" for p in sub.json["points"]]
    deadline = time.monotonic() + 120
    while not all(p.exists() and "recipe 'edited' changed since it was planned" in p.read_text() for p in logs):
        assert time.monotonic() < deadline, [p.read_text() if p.exists() else "no log" for p in logs]
        time.sleep(0.2)
    assert store_entries(home) == []
    again = run_cmx("run", "experiment", "--tags=edited", "--explore.n=1,2", "--executor=slurm", "-j", home=home)
    assert again.code == 0, again.err  # re-planned now: the points run with the edited recipe
    assert sorted(p["new_env"]["E"] for p in again.json["points"]) == ["changed", "changed"]


def test_a_compute_node_runs_its_own_probes(repo, home, tmp_path):
    """Probes are keyed by machine (cmx/host.py): a plan made on the login node does not reuse the
    login node's probe entries on the compute node. The cluster has one node, so the job is made
    another machine with another fact through sbatch's own --export (the real job environment)."""
    probes, builds = tmp_path / "probes", tmp_path / "builds"
    repo.add("probe", "tags: [myprobe]\nprobe: true\ncache: true\nnew_env_keys: [FACT]\n",
             f'echo "$CMX_HOST_ID" >> "{probes}"\necho "FACT=${{TEST_NODE_FACT:-cpu}}" >> tmp-run-env.out\n')
    repo.add("user", "tags: [user]\ncache: true\ndeps: [{tags: myprobe}]\nnew_env_keys: [SAW]\n",
             f'echo built >> "{builds}"\necho "SAW=$FACT" >> tmp-run-env.out\n')
    login = {"CMX_HOST_ID": "login"}
    gpu_node = "--slurm.extra=--export=ALL,CMX_HOST_ID=node-b,TEST_NODE_FACT=gpu"

    def counts() -> tuple[int, int]:
        return tuple(len(p.read_text().splitlines()) if p.exists() else 0 for p in (probes, builds))  # type: ignore[return-value]

    local = run_cmx("run", "script", "--tags=user", "-j", home=home, env=login)
    assert local.code == 0 and local.json["new_env"]["SAW"] == "cpu" and counts() == (1, 1), local.err
    # everything is a hit on the login node, but its probe says nothing about the compute node: submitted
    node = run_cmx("run", "script", "--tags=user", "--executor=slurm", gpu_node, "-j", home=home, env=login)
    assert node.code == 0, node.err
    assert "1 done, 0 failed (of 1)" in node.err
    assert node.json["new_env"]["SAW"] == "gpu" and not node.json["cached"] and counts() == (2, 2)
    # again on that node: its own probe entry and what was built on it, under the plan locked on the login node
    again = run_cmx("run", "script", "--tags=user", "--executor=slurm", gpu_node, "-j", home=home, env=login)
    assert again.code == 0, again.err
    assert again.json["new_env"]["SAW"] == "gpu" and again.json["cached"] and counts() == (2, 2)
    # the login node's CMX_HOST_ID, merely inherited by the job, is not the node's identity: the node probes
    plain = run_cmx("run", "script", "--tags=user", "--executor=slurm", "-j", home=home, env=login)
    assert plain.code == 0, plain.err
    assert plain.json["new_env"]["SAW"] == "cpu" and plain.json["cached"] and counts() == (3, 2)
    assert probes.read_text().splitlines() == ["login", "node-b", ""]  # run.sh sees the job's environment
    back = run_cmx("run", "script", "--tags=user", "-j", home=home, env=login)
    assert back.code == 0 and back.json["new_env"]["SAW"] == "cpu" and back.json["cached"] and counts() == (3, 2)


GATED = "tags: [gated, build]\ncache: true\ninput_mapping:\n  point: GATED_POINT\nnew_env_keys: [GATED_*]\n"


def _gated_run(starts: Path, go: Path) -> str:
    """Each start of the build is a line in ``starts`` (the point and its array task); the build of any
    point but ``free`` then waits for the file ``go``: the test decides when it may finish, never a clock."""
    return f"""
echo "start $GATED_POINT ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}" >> "{starts}"
if [ "$GATED_POINT" != free ]; then n=0; while [ ! -e "{go}" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done; fi
echo "payload-$GATED_POINT" > result.txt
echo "GATED_RESULT=$PWD/result.txt" >> tmp-run-env.out
"""


def _starts(starts: Path, point: str) -> list[str]:
    """The array task of each start of ``point``'s build so far."""
    lines = starts.read_text().splitlines() if starts.exists() else []
    return [line.split()[2] for line in lines if line.split()[1] == point]


def _wait_until(check, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"cmx ended before {what}: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def _submit_gated(home: Path, starts: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    """``cmx run script --tags=gated,build --executor=slurm`` in the background, once its build runs."""
    env = dict(os.environ, CMX_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=gated,build",
                             "--point=a", "--executor=slurm", *flags, "-j"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_until(lambda: _starts(starts, "a"), proc, "start of the build on the node", 120)
    (job_dir,) = [p for p in (home / "cache" / "slurm").glob("*/*") if p.is_dir()]
    return proc, job_dir.name


def test_requeue_runs_the_job_again_and_builds_the_entry_once(repo, home, tmp_path):
    """--slurm.requeue: `scontrol requeue` of the running job (what preemption does) stops the build; Slurm
    runs the job again, cmx waits for that attempt (not the stopped one) and the entry is published once."""
    starts, go = tmp_path / "starts", tmp_path / "go"
    repo.add("gated", GATED, _gated_run(starts, go))
    proc, job_id = _submit_gated(home, starts, "--slurm.requeue")
    try:
        subprocess.run(["scontrol", "requeue", job_id], check=True, timeout=60)
        # Slurm holds a re-queued job back for its credential lifetime (cred_expire: 30 s in .ci/slurm-up.sh,
        # 120 s by default) before it runs again, and only once the stopped attempt has ended
        _wait_until(lambda: len(_starts(starts, "a")) == 2, proc, "second attempt")
        go.touch()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"job {job_id} re-queued by Slurm (attempt 2)" in err
    assert "1 done, 0 failed (of 1)" in err
    assert len(_starts(starts, "a")) == 2  # the step ran again
    result = Path(json.loads(out)["new_env"]["GATED_RESULT"])
    assert result.read_text() == "payload-a\n"
    (entry,) = store_entries(home)  # built once: the stopped attempt published nothing
    assert result.is_relative_to(entry)
    again = run_cmx("run", "script", "--tags=gated,build", "--point=a", "-j", home=home)
    assert again.code == 0 and again.json["cached"] and again.json["new_env"]["GATED_RESULT"] == str(result)


def test_requeue_of_one_array_task_runs_that_point_again_and_builds_it_once(repo, home, tmp_path):
    """--slurm.requeue on an experiment: `scontrol requeue ARRAY_TASK` of one running task (what preemption
    does to one point) stops that point's build; Slurm runs the task again, cmx waits for that attempt,
    records the point once and its entry is built once; the other point is not disturbed."""
    starts, go = tmp_path / "starts", tmp_path / "go"
    repo.add("gated", GATED, _gated_run(starts, go))
    env = dict(os.environ, CMX_HOME=str(home))
    args = ("run", "experiment", "--tags=gated,build", "--explore.point=a,free", "--executor=slurm", "-j")
    proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", *args, "--slurm.requeue"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: _starts(starts, "a"), proc, "start of point a's build", 120)
        (task,) = _starts(starts, "a")
        subprocess.run(["scontrol", "requeue", task], check=True, timeout=60)
        _wait_until(lambda: len(_starts(starts, "a")) == 2, proc, "second attempt of point a")
        go.touch()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"job {task} re-queued by Slurm (attempt 2)" in err
    array = task.split("_")[0]
    assert _starts(starts, "a") == [task, task] and _starts(starts, "free") == [f"{array}_1"]
    res = json.loads(out)
    assert res["summary"]["ok"] == 2 and [p["status"] for p in res["points"]] == ["ok", "ok"]
    records = {json.loads(p.read_text())["inputs"]["point"]: json.loads(p.read_text())
               for p in Path(res["experiment"]).glob("points/*.json")}
    assert {k: r["slurm_job_id"] for k, r in records.items()} == {"a": task, "free": f"{array}_1"}
    assert Path(records["a"]["new_env"]["GATED_RESULT"]).read_text() == "payload-a\n"
    log = Path(records["a"]["log"]).read_text()  # both attempts, told apart
    assert "cmx: interrupted by SIGTERM" in log and "cmx: slurm: attempt 2 (re-queued by Slurm)" in log
    assert len(store_entries(home)) == 2  # one entry a point: the stopped attempt published nothing
    again = run_cmx(*args, home=home)
    assert again.code == 0 and "all 2 points already done; nothing submitted" in again.err, again.err


def test_without_requeue_slurm_refuses_to_requeue(repo, home, tmp_path):
    starts, go = tmp_path / "starts", tmp_path / "go"
    repo.add("gated", GATED, _gated_run(starts, go))
    proc, job_id = _submit_gated(home, starts)
    try:
        refused = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60)
        go.touch()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert refused.returncode != 0, refused.stdout
    assert proc.returncode == 0, err
    assert len(_starts(starts, "a")) == 1 and len(store_entries(home)) == 1


CAPACITY = "tags: [capacity]\ncache: true\ninput_mapping:\n  qps: CAP_QPS\nnew_env_keys: [CMX_FLEXBENCH_RESULT]\n"
CAPACITY_RUN = """
valid=$(awk -v q="$CAP_QPS" 'BEGIN { print (q <= 25) ? "true" : "false" }')
printf '{"status": "ok", "summary": {"status": "ok", "valid": %s, "samples_per_second": %s}}\\n' "$valid" "$CAP_QPS" > result.json
echo "CMX_FLEXBENCH_RESULT=$PWD/result.json" >> tmp-run-env.out
"""


def test_search_runs_each_step_as_a_job_and_the_points_below_as_one_array(repo, home, tmp_path):
    """--search with --executor=slurm: the same maximum and points as a local search; each step (whose
    verdict picks the next value) is one job, the points below the maximum one job array; a re-run
    submits nothing."""
    repo.add("capacity", CAPACITY, CAPACITY_RUN)
    args = ("run", "experiment", "--tags=capacity", "--search.qps=10:100", "--search_steps=1", "--search_points=4", "-j")
    local_home = tmp_path / "local"
    local_home.mkdir()
    (local_home / "repos.yaml").write_text((home / "repos.yaml").read_text())
    local = run_cmx(*args, home=local_home)
    assert local.code == 0, local.err
    remote = run_cmx(*args, "--executor=slurm", home=home)
    assert remote.code == 0, remote.err
    assert remote.json["search"] == local.json["search"] == {"key": "qps", "max": 20.0, "points": ["5", "10", "15", "20"]}
    steps = [line for line in remote.err.splitlines() if "submitted 1 as Slurm job array" in line]
    assert len(steps) == 4  # qps=10, 20: VALID; 40: not valid; bisection: 30 not valid
    assert sum("submitted 2 as Slurm job array" in line for line in remote.err.splitlines()) == 1  # 5 and 15

    def table(out):
        return [(p["inputs"]["qps"], p["role"], p["status"]) for p in out["points"]]
    assert table(remote.json) == table(local.json) == [
        ("5", "point", "ok"), ("10", "probe+point", "ok"), ("15", "point", "ok"), ("20", "probe+point", "ok"),
        ("30", "probe", "ok"), ("40", "probe", "ok")]
    jobs = {json.loads(p.read_text())["slurm_job_id"].split("_")[0]
            for p in Path(remote.json["experiment"]).glob("points/*.json")}
    assert len(jobs) == 5
    again = run_cmx(*args, "--executor=slurm", home=home)
    assert again.code == 0, again.err
    assert "Slurm job array" not in again.err and again.json["search"] == remote.json["search"]


def test_detach_then_collect_answers_from_the_node_entries(repo, home, tmp_path):
    """--detach prints a command that collects the result: all hits on a node, nothing built on the
    submitting machine even where its probe reports other facts than the node's."""
    builds = tmp_path / "builds"
    repo.add("probe", "tags: [myprobe]\nprobe: true\ncache: true\nnew_env_keys: [FACT]\n",
             'echo "FACT=${TEST_NODE_FACT:-cpu}" >> tmp-run-env.out\n')
    repo.add("user", "tags: [user]\ncache: true\ndeps: [{tags: myprobe}]\nnew_env_keys: [SAW]\n",
             f'echo built >> "{builds}"\necho "SAW=$FACT" >> tmp-run-env.out\n')
    login = {"CMX_HOST_ID": "login"}
    sub = run_cmx("run", "script", "--tags=user", "--executor=slurm", "--detach",
                  "--slurm.extra=--export=ALL,TEST_NODE_FACT=gpu", "-j", home=home, env=login)
    assert sub.code == 0, sub.err
    collect = shlex.split(sub.json["collect"])
    assert collect[0] == "cmx" and "--detach" not in collect and "--executor=slurm" in collect
    job_id = sub.json["job_ids"][0]
    deadline = time.monotonic() + 600
    while True:
        state = subprocess.run(["squeue", "-h", "--states=all", "-o", "%T", "-j", job_id], capture_output=True,
                               text=True, timeout=60).stdout.strip()
        if state == "COMPLETED":
            break
        assert state in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING") and time.monotonic() < deadline, state
        time.sleep(0.2)
    out = run_cmx(*collect[1:], home=home, env=login, timeout=600)
    assert out.code == 0, out.err
    assert out.json["new_env"]["SAW"] == "gpu" and out.json["cached"]
    assert builds.read_text().splitlines() == ["built"]
