"""Probes are keyed by the machine they run on (cmx/host.py): machines sharing one store each run
their own probes, and reuse what is built on them only when their facts agree. ``CMX_HOST_ID``
stands for a second machine here; everything else is the real command line on one store."""

from __future__ import annotations

import json

from cmx.host import HOST_ENV, host_id


def _probe_and_user(repo, tmp_path):
    fact, probes, builds = tmp_path / "fact", tmp_path / "probes", tmp_path / "builds"
    fact.write_text("one")
    repo.add("probe", "tags: [myprobe]\nprobe: true\ncache: true\nnew_env_keys: [FACT]\n",
             f'echo ran >> "{probes}"\necho "FACT=$(cat "{fact}")" >> tmp-run-env.out\n')
    d = repo.add("user", "tags: [user]\ncache: true\ndeps: [{tags: myprobe}]\nnew_env_keys: [SAW]\n",
                 f'echo built >> "{builds}"\necho "SAW=$FACT" >> tmp-run-env.out\n')
    return fact, d, (lambda: len(probes.read_text().splitlines()) if probes.exists() else 0), \
        (lambda: len(builds.read_text().splitlines()) if builds.exists() else 0)


def test_host_id_is_the_host_name_unless_given(monkeypatch):
    import os

    monkeypatch.delenv(HOST_ENV, raising=False)
    assert host_id() == os.uname().nodename
    monkeypatch.setenv(HOST_ENV, " node-7 ")
    assert host_id() == "node-7"
    monkeypatch.setenv(HOST_ENV, "")
    assert host_id() == os.uname().nodename


def test_each_machine_runs_its_own_probe_and_reuses_entries_when_facts_agree(repo, cmx, tmp_path):
    fact, _, probes, builds = _probe_and_user(repo, tmp_path)

    def on(host: str):
        res = cmx("run", "script", "--tags=user", "-j", env={HOST_ENV: host})
        assert res.code == 0, res.err
        return res.json

    assert on("login")["new_env"]["SAW"] == "one" and (probes(), builds()) == (1, 1)
    assert on("login")["cached"] and (probes(), builds()) == (1, 1)  # the probe entry never expires
    node_b = on("node-b")  # same facts: its own probe, the entry built on 'one' is reused
    assert node_b["cached"] and node_b["new_env"]["SAW"] == "one" and (probes(), builds()) == (2, 1)
    fact.write_text("two")  # a machine with other facts (a GPU node behind a CPU login node)
    node_c = on("node-c")
    assert not node_c["cached"] and node_c["new_env"]["SAW"] == "two" and (probes(), builds()) == (3, 2)
    # the earlier machines keep their own probe entries and what was built on them
    assert on("login")["new_env"]["SAW"] == "one" and on("node-b")["new_env"]["SAW"] == "one"
    assert (probes(), builds()) == (3, 2)


def test_explain_names_the_other_machine(repo, cmx, tmp_path):
    _probe_and_user(repo, tmp_path)
    assert cmx("run", "script", "--tags=user", env={HOST_ENV: "login"}).code == 0
    res = cmx("explain", "script", "--tags=user", "-j", env={HOST_ENV: "node-b"})
    assert res.code == 0, res.err
    why = {e["recipe"]: e["details"] for e in res.json["explain"]}
    assert "probe ran on another machine (login -> node-b)" in why["probe"]


def test_frozen_on_another_machine_checks_the_plan_not_the_machine_facts(repo, cmx, home, tmp_path):
    fact, user_dir, probes, builds = _probe_and_user(repo, tmp_path)
    lock = home / "plan.lock"
    assert cmx("run", "script", "--tags=user", "--lock", str(lock), env={HOST_ENV: "login"}).code == 0
    data = json.loads(lock.read_text())
    assert data["machine"]["host"] == "login"
    assert [n["probe"] for n in sorted(data["nodes"].values(), key=lambda n: n["recipe"])] == [True, False]
    fact.write_text("two")  # the node's probe finds other facts: its keys differ, the plan does not
    res = cmx("run", "script", "--tags=user", "--frozen", str(lock), "-j", env={HOST_ENV: "node-b"})
    assert res.code == 0, res.err
    assert res.json["new_env"]["SAW"] == "two" and (probes(), builds()) == (2, 2)
    (user_dir / "run.sh").write_text('echo "SAW=edited" >> tmp-run-env.out\n')  # the plan itself changed
    res = cmx("run", "script", "--tags=user", "--frozen", str(lock), env={HOST_ENV: "node-b"})
    assert res.code == 2 and "user: recipe content changed" in res.err
