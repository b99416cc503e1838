"""The plan shipped to a Slurm job (cmx_slurm/carrier.py) and the job's body (cmx_slurm/node.py), run
here as the job runs it: ``python -m cmx_slurm.node`` with the plan on stdin. No Slurm needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmx import automation
from cmx.api import Engine
from cmx.automation import Context
from cmx_slurm import carrier
from tests.conftest import run_cmx, store_entries


def _planned(tags: str, **inputs: str) -> tuple[bytes, object]:
    """Plan ``tags`` here (the submitting machine) and pack it as the job gets it."""
    engine = Engine()
    script = automation.load("script")
    i = {"action": "run", "automation": "script", "tags": tags, **inputs}
    req, options = script.request_from(i, Context(engine=engine, json=True))
    plan = engine.plan(req)
    statuses = engine.status(plan)
    return carrier.pack(plan, {s.node.index: s.key for s in statuses}, options, script.request_info(i)), plan


def _job(data: bytes, home: Path, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, CMX_HOME=str(home), CMX_TRACE="1", **env)
    return subprocess.run([sys.executable, "-m", "cmx_slurm.node"], input=data, capture_output=True, env=full,
                          timeout=300, check=False)


def test_the_job_runs_the_shipped_plan_without_planning_and_answers_as_a_local_run(home, tmp_path):
    data, _ = _planned("print,hello-world", name="Ship")
    job = _job(data, home)
    err = job.stderr.decode()
    assert job.returncode == 0, err
    assert "cmx: trace: execute runs a plan of 2 nodes" in err
    assert "cmx: trace: plan " not in err and "cmx: trace: index " not in err  # no selection, no meta read
    shipped = json.loads(job.stdout)
    local = run_cmx("run", "script", "--tags=print,hello-world", "--name=Ship", "-j", home=home)
    assert local.code == 0 and local.json["cached"], local.err  # the job's entries are the local run's
    for field in ("recipe", "new_env", "new_state", "cache_path", "version", "key"):
        assert shipped[field] == local.json[field], field
    assert [(r["recipe"], r["key"]) for r in shipped["plan"]] == [(r["recipe"], r["key"]) for r in local.json["plan"]]
    assert shipped["lock"]["request"] == local.json["lock"]["request"]


def test_a_recipe_edited_after_planning_is_refused_by_name_and_nothing_runs(repo, home, tmp_path):
    ran = tmp_path / "ran"
    d = repo.add("edited", "tags: [edited]\ncache: true\nnew_env_keys: [E]\n",
                 f'echo one >> "{ran}"\necho "E=one" >> tmp-run-env.out\n')
    data, _ = _planned("edited")
    (d / "run.sh").write_text(f'echo two >> "{ran}"\necho "E=two" >> tmp-run-env.out\n')
    job = _job(data, home)
    err = job.stderr.decode()
    assert job.returncode == 2, err
    assert (f"cmx: error: the plan shipped to this job is out of date: recipe 'edited' changed since it was "
            f"planned (run.sh in {d}); nothing was run") in err
    assert json.loads(job.stdout)["return"] == 2
    assert not ran.exists() and store_entries(home) == []


def test_a_file_added_to_a_recipe_is_a_change_too(repo, home):
    d = repo.add("grown", "tags: [grown]\ncache: true\n", "true\n")
    data, _ = _planned("grown")
    (d / "extra.sh").write_text("echo new\n")
    job = _job(data, home)
    assert job.returncode == 2 and "recipe 'grown' changed since it was planned (extra.sh in" in job.stderr.decode()


def test_a_plan_of_any_depth_ships_flat(repo, home):
    depth = 600
    for k in range(depth):
        dep = f"deps:\n  - tags: c{k + 1}\n" if k + 1 < depth else ""
        repo.add(f"c{k}", f"tags: [c{k}]\ncache: true\n{dep}", "true\n")
    data, plan = _planned("c0")
    shipped, again = carrier.unpack(data)
    assert carrier.rekey(again) == []  # the same machine: every key the submitting machine computed
    assert [n.key for n in again.nodes] == [n.key for n in plan.nodes]  # type: ignore[attr-defined]
    assert [[e.child.index for e in n.edges] for n in again.nodes] == \
        [[e.child.index for e in n.edges] for n in plan.nodes]  # type: ignore[attr-defined]


def test_the_node_keys_its_probes_itself(repo, home, monkeypatch):
    repo.add("probe", "tags: [myprobe]\nprobe: true\ncache: true\nnew_env_keys: [FACT]\n",
             'echo "FACT=${TEST_NODE_FACT:-cpu}" >> tmp-run-env.out\n')
    repo.add("user", "tags: [user]\ncache: true\ndeps: [{tags: myprobe}]\nnew_env_keys: [SAW]\n",
             'echo "SAW=$FACT" >> tmp-run-env.out\n')
    monkeypatch.setenv("CMX_HOST_ID", "login")
    local = run_cmx("run", "script", "--tags=user", "-j", home=home, env={"CMX_HOST_ID": "login"})
    assert local.code == 0 and local.json["new_env"]["SAW"] == "cpu", local.err
    data, _ = _planned("user")  # all hits on the login node, its probe's output in the keys
    monkeypatch.setenv("CMX_HOST_ID", "node-b")
    _, plan = carrier.unpack(data)
    assert [n.recipe.alias for n in carrier.rekey(plan)] == ["probe"]  # only the probe's key holds the machine
    job = _job(data, home, CMX_HOST_ID="node-b", TEST_NODE_FACT="gpu")
    err = job.stderr.decode()
    assert job.returncode == 0, err
    out = json.loads(job.stdout)
    assert out["new_env"]["SAW"] == "gpu" and not out["cached"]  # built on the node's probe output
    assert "probes checked on this node: probe" in err
    assert "keys computed on this node that differ from login's (a probe is keyed by its machine, what is " \
           "built on one by its output): probe, user" in err


def test_a_dependency_the_job_would_have_to_plan_is_refused(repo, home):
    """A conditional dependency whose tags come from what an earlier step exported is planned at run
    time in a local run; the job refuses to plan, and says where to plan instead."""
    repo.add("setter", "tags: [setter]\nnew_env_keys: [PICK]\n", 'echo "PICK=b" >> tmp-run-env.out\n')
    repo.add("target", "tags: [target]\nvariations:\n  a: {env: {T: a}}\n  b: {env: {T: b}}\nnew_env_keys: [T]\n",
             "true\n")
    repo.add("top", "tags: [top]\ndeps:\n  - tags: setter\n  - tags: target\n"
                    "    update_tags_from_env_with_prefix: {_: [PICK]}\n    enable_if_env: {PICK: [a, b]}\n"
                    "new_env_keys: [T]\n", "true\n")
    local = run_cmx("run", "script", "--tags=top", "-j", home=home)
    assert local.code == 0 and local.json["new_env"]["T"] == "b", local.err  # planned at run time, here
    data, _ = _planned("top")
    job = _job(data, home)
    err = job.stderr.decode()
    assert job.returncode != 0
    assert ("the dependency deps 'target' at " in err and "is needed now, but it cannot be planned on the env of "
            "this step: what ran before it on this node changed its request (planned as 'target', here "
            "'target,_b'), and a Slurm job runs only the plan made on ") in err, err
    assert "plan on a machine like the compute nodes" in err
    assert "cmx: trace: plan " not in err


def test_a_payload_of_another_format_is_refused(home):
    job = _job(b"not a plan", home)
    assert job.returncode == 2 and "the plan shipped to this job cannot be read" in job.stderr.decode()


@pytest.mark.parametrize("tags", ["run,mlperf,flexbench,_submission", "run,flexbench"])
def test_the_built_in_plans_ship(home, tags):
    data, plan = _planned(tags)
    _, again = carrier.unpack(data)
    carrier.check_recipes(again)
    assert carrier.rekey(again) == []
    assert [n.identity for n in again.nodes] == [n.identity for n in plan.nodes]  # type: ignore[attr-defined]
