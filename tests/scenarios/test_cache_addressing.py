"""Issue 11, cache addressing: entries by key prefix, rows that tell entries apart, run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HELLO = ("run", "script", "--tags=print,hello-world")


def test_show_and_rm_by_the_key_prefix_show_prints(cmx, home):
    a = cmx(*HELLO, "--name=ann", "-j").json
    b = cmx(*HELLO, "--name=bob", "-j").json
    listing = cmx("show", "cache").out
    prefix = a["key"][:12]
    assert prefix in listing
    shown = cmx("show", "cache", prefix, "-j")
    assert shown.code == 0 and [r["key"] for r in shown.json] == [a["key"]]
    missing = cmx("show", "cache", "ffff0000ffff")
    assert missing.code == 2 and "no cache entry has a key starting with 'ffff0000ffff'" in missing.err
    assert cmx("rm", "cache", prefix).code == 2  # -f still needed
    removed = cmx("rm", "cache", prefix, "-f", "-j")
    assert removed.code == 0 and removed.json["removed"] == [a["key"]]
    assert [r["key"] for r in cmx("show", "cache", "--tags=print", "-j").json] == [b["key"]]


def test_an_ambiguous_prefix_lists_the_candidates(cmx, home):
    from cmx.cache.store import Store
    from cmx.home import Home

    store = Store(Home(home))
    keys = ["abcd1" + "0" * 59, "abcd2" + "0" * 59]
    for k in keys:  # two real entries whose keys share 4 digits
        store.publish(k, store.new_build_dir(k), {"alias": "twin", "created": 0})
    out = cmx("rm", "cache", "abcd", "-f")
    assert out.code == 2 and "ambiguous" in out.err and keys[0][:16] in out.err and keys[1][:16] in out.err
    assert [r["key"] for r in cmx("show", "cache", "abcd", "-j").json] == keys  # show lists both
    assert cmx("rm", "cache", "abcd2", "-f", "-j").json["removed"] == [keys[1]]


def test_rows_show_what_tells_entries_of_one_recipe_apart(cmx, home):
    for name in ("ann", "bob"):
        cmx(*HELLO, f"--name={name}")
    cmx(*HELLO, "--name=ann", "--greeting=Hi")
    cmx("run", "script", "--tags=print,hello-world,_json")
    rows = [r for r in cmx("show", "cache", "--tags=print", "-j").json]
    text = [r for r in rows if r["variations"] == ["text"]]
    assert len(text) == 3
    differs = [r["differs"] for r in text]
    assert {d.get("env.CMX_HELLO_NAME") for d in differs} == {"ann", "bob"}
    assert {d.get("env.CMX_HELLO_GREETING") for d in differs} == {"Hello", "Hi"}
    assert [r["differs"] for r in rows if r["variations"] == ["json"]] == [{}]  # alone in its group
    printed = cmx("show", "cache", "--tags=print").out
    lines = [line.split("  ", 1)[1].rsplit("  ", 1)[0] for line in printed.splitlines() if "_text" in line]  # no key, path
    assert len(lines) == 3 and len(set(lines)) == 3
    assert any(line.endswith(" CMX_HELLO_GREETING=Hi CMX_HELLO_NAME=ann") for line in lines), lines
    assert all("--name" not in line for line in lines)  # the input is the env shown


# -- run folders of recipes that are not cached ----------------------------------------------------
RESULT = {"schema": "flexbench-result/1", "status": "ok",
          "summary": {"status": "ok", "scenario": "Offline", "valid": True, "samples_per_second": 3.0,
                      "tokens_per_second": 34.55, "rouge": {"rougeL": 21.5}}}


def test_runs_are_listed_with_their_result_and_removable(repo, cmx, home, tmp_path):
    repo.add("bench", "tags: [bench]\n", "mkdir -p flexbench\ncp \"$RESULT_SRC\" flexbench/result.json\n")
    repo.add("gated", "tags: [gated]\n", 'touch "$GATE.started"\nwhile [ ! -e "$GATE.go" ]; do sleep 0.05; done\n')
    src = tmp_path / "result.json"
    src.write_text(json.dumps(RESULT))
    assert cmx("run", "script", "--tags=bench", f"--env.RESULT_SRC={src}").code == 0
    assert cmx("run", "script", "--tags=bench", f"--env.RESULT_SRC={tmp_path / 'none.json'}").code == 1  # no result
    rows = cmx("show", "runs", "-j").json
    assert [r["alias"] for r in rows] == ["bench", "bench"]
    good = next(r for r in rows if r["result"])
    assert good["status"] == "ok" and good["valid"] is True and good["tokens_per_second"] == 34.55
    assert "ok VALID Offline 3.00 samples/s 34.55 tokens/s ROUGE-L 21.50" in cmx("show", "runs").out
    gate = tmp_path / "gate"
    proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=gated", f"--env.GATE={gate}"],
                            env=dict(os.environ, CMX_HOME=str(home)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while not Path(f"{gate}.started").exists():
            assert proc.poll() is None
            time.sleep(0.02)
        running = [r for r in cmx("show", "runs", "gated", "-j").json]
        assert len(running) == 1 and running[0]["running"] and running[0]["status"] == "running"
        refused = cmx("rm", "runs", "gated", "-f")
        assert refused.code == 1 and "still running" in refused.err
        assert cmx("gc", "cache", "--older-than=0s", "-j").json["old_runs"] == 2  # the two finished ones only
    finally:
        Path(f"{gate}.go").touch()
        proc.communicate(timeout=60)
    assert [r["alias"] for r in cmx("show", "runs", "-j").json] == ["gated"]
    assert cmx("rm", "runs", "gated").code == 2  # -f needed
    assert cmx("rm", "runs", "gated", "-f", "-j").json["removed"] == [running[0]["id"]]
    assert cmx("show", "runs", "-j").json == []
    missing = cmx("rm", "runs", "nosuch", "-f")
    assert missing.code == 2 and "no run folder" in missing.err


def test_an_ambiguous_run_prefix_lists_the_candidates(repo, cmx, home):
    repo.add("quick", "tags: [quick]\n", "true\n")
    for _ in range(2):
        cmx("run", "script", "--tags=quick")
    ids = [r["id"] for r in cmx("show", "runs", "-j").json]
    out = cmx("rm", "runs", "quick-", "-f")
    assert out.code == 2 and "ambiguous" in out.err and all(i in out.err for i in ids)
    assert cmx("rm", "runs", ids[0], "-f", "-j").json["removed"] == [ids[0]]


def test_a_real_flexbench_run_shows_its_validity_and_figures(fhome):
    from tests.conftest import run_cmx

    run = run_cmx("run", "script", "--tags=run,flexbench,_noop,_performance", "--samples=8", "-j", home=fhome,
                  timeout=1800)
    assert run.code == 0, run.err[-2000:]
    result = Path(run.json["new_env"]["CMX_FLEXBENCH_RESULT"])
    run_id = result.parents[1].name
    summary = json.loads(result.read_text())["summary"]
    rows = run_cmx("show", "runs", run_id, "-j", home=fhome).json
    assert len(rows) == 1 and rows[0]["result"] == str(result)
    assert rows[0]["valid"] == summary["valid"] and rows[0]["samples_per_second"] == summary["samples_per_second"]
    assert rows[0]["status"] == summary["status"] == "ok"
    removed = run_cmx("rm", "runs", run_id, "-f", "-j", home=fhome).json
    assert removed["removed"] == [run_id] and not result.exists()
