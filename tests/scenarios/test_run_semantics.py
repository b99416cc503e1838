"""End-to-end behaviour of `cmx run script`: plan, phases, env, outputs, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import store_entries


def test_shell_metacharacters_in_env_are_never_executed(repo, cmx, tmp_path):
    repo.add("echo", "tags: [echo]\nnew_env_keys: [GOT]\n", 'echo "GOT=$V" >> tmp-run-env.out\n')
    pwned = tmp_path / "pwned"
    for value in [f"$(touch {pwned})", f"`touch {pwned}`", f"x; touch {pwned}", f"'; touch {pwned}; '",
                  f'"; touch {pwned}; "', f"$((1+1)) && touch {pwned}"]:
        out = cmx("run", "script", "--tags=echo", f"--env.V={value}", "-j")
        assert out.code == 0, out.err
        assert out.json["new_env"]["GOT"] == value
    assert cmx("run", "script", "--tags=echo", "--env.V=a\nb").code == 2  # see test_bad_settings.py
    assert not pwned.exists()


def test_bad_env_names_are_usage_errors(repo, cmx):
    repo.add("echo", "tags: [echo]\n", "true\n")
    res = cmx("run", "script", "--tags=echo", "--env.A-B=1")
    assert res.code == 2 and "--env.A-B" in res.err and "Traceback" not in res.err


def test_phase_order_is_cms(repo, cmx, tmp_path):
    log = tmp_path / "order.log"
    hook = 'echo "{name}" >> "$ORDER_LOG"\n'
    for name in ("dep", "prehook", "posthook", "post"):
        repo.add(f"p-{name}", f"tags: [p, {name}]\n", hook.format(name=name))
    repo.add("main", """
        tags: [main]
        deps: [{tags: "p,dep"}]
        prehook_deps: [{tags: "p,prehook"}]
        posthook_deps: [{tags: "p,posthook"}]
        post_deps: [{tags: "p,post"}]
        """, 'echo run >> "$ORDER_LOG"\n', customize=f"""
        def preprocess(i):
            open({str(log)!r}, "a").write("preprocess\\n")
            return {{"return": 0}}

        def postprocess(i):
            open({str(log)!r}, "a").write("postprocess\\n")
            return {{"return": 0}}
        """)
    res = cmx("run", "script", "--tags=main", f"--env.ORDER_LOG={log}")
    assert res.code == 0, res.err
    assert log.read_text().split() == ["dep", "preprocess", "prehook", "run", "posthook", "postprocess", "post"]


def test_shared_dependency_is_planned_and_run_once(repo, cmx, tmp_path):
    count = tmp_path / "count"
    repo.add("probe", "tags: [shared, probe]\n", f'echo x >> {count}\n')
    for k in range(5):
        repo.add(f"mid{k}", f"tags: [mid, m{k}]\ndeps: [{{tags: 'shared,probe'}}]\n", "true\n")
    repo.add("root", "tags: [root]\ndeps:\n" + "".join(f"  - tags: mid,m{k}\n" for k in range(5)), "true\n")
    plan = cmx("run", "script", "--tags=root", "--dry-run", "-j").json["plan"]
    assert [n["recipe"] for n in plan].count("probe") == 1
    assert len(plan) == 7
    assert not count.exists()  # a dry run executes nothing
    assert cmx("run", "script", "--tags=root").code == 0
    assert count.read_text().count("x") == 1


def test_dry_run_shows_hits_misses_and_reasons(cmx, home):
    plan = cmx("run", "script", "--tags=print,hello-world", "--dry-run", "-j").json["plan"]
    assert [(n["recipe"], n["status"]) for n in plan] == [("detect-os", "run"), ("print-hello-world", "run")]
    assert plan[1]["reason"] == "pending"  # its key depends on the probe's output
    assert store_entries(home) == []
    cmx("run", "script", "--tags=print,hello-world", "-q")
    plan = cmx("run", "script", "--tags=print,hello-world", "--dry-run", "-j").json["plan"]
    assert [n["status"] for n in plan] == ["hit", "hit"]  # the probe is consulted for the key
    plan = cmx("run", "script", "--tags=print,hello-world", "--env.CMX_HELLO_NAME=Ann", "--dry-run", "-j").json["plan"]
    assert plan[1]["reason"] == "changed" and "CMX_HELLO_NAME" in plan[1]["why"]
    text = cmx("run", "script", "--tags=print,hello-world", "--dry-run").out
    assert "detect-os" in text and "print-hello-world" in text and "nothing executed" in text


def test_failure_report_names_chain_exit_code_log_and_rerun(repo, cmx):
    repo.add("leaf", "tags: [leaf]\ncache: true\n", "echo line-a\necho line-b >&2\nexit 3\n")
    repo.add("mid", "tags: [mid]\ndeps: [{tags: leaf}]\n", "true\n")
    repo.add("top", "tags: [top]\ndeps: [{tags: mid}]\n", "true\n")
    res = cmx("run", "script", "--tags=top", "--env.SOME=1")
    assert res.code == 1
    err = res.err
    assert "recipe 'leaf' failed" in err and "exit code 3" in err
    assert "required by: mid <- top" in err
    assert "| line-a" in err and "| line-b" in err
    assert "log: " in err and ".failed" in err
    rerun = [l for l in err.splitlines() if "re-run only this node" in l][0].split(": ", 1)[1]
    assert rerun.startswith("cmx run script --tags=leaf") and "--env.SOME=1" in rerun
    assert "Traceback" not in err


def test_hook_errors_are_reported_with_location(repo, cmx):
    repo.add("h", "tags: [h]\n", "true\n", customize="""
        def preprocess(i):
            return {"return": 1, "error": "model not found at /nowhere"}
        """)
    res = cmx("run", "script", "--tags=h")
    assert res.code == 1 and "model not found at /nowhere" in res.err
    repo.add("h2", "tags: [h2]\n", "true\n", customize="""
        def preprocess(i):
            raise ValueError("bad value")
        """)
    res = cmx("run", "script", "--tags=h2")
    assert res.code == 1 and "ValueError: bad value" in res.err and "customize.py:2" in res.err
    assert "Traceback" not in res.err
    assert "Traceback" in cmx("run", "script", "--tags=h2", "-v").err


def test_a_hook_that_reports_bad_input_exits_2(repo, cmx):
    repo.add("u", "tags: [u]\n", "true\n", customize="""
        def preprocess(i):
            return {"return": 1, "error": "--price=-3: must be positive", "usage": True}
        """)
    res = cmx("run", "script", "--tags=u", "-j")
    assert res.code == 2 and "--price=-3: must be positive" in res.err and "Traceback" not in res.err
    assert res.json["return"] == 2


def test_outputs_env_state_and_plus_path(repo, cmx):
    repo.add("tool", "tags: [tool]\ncache: true\nnew_env_keys: [TOOL_*, +PATH]\nnew_state_keys: [tool]\n", """
        mkdir -p bin
        printf '#!/bin/sh\\necho tool-ran\\n' > bin/mytool && chmod +x bin/mytool
        echo "+PATH=$PWD/bin" >> tmp-run-env.out
        echo "TOOL_HOME=$PWD" >> tmp-run-env.out
        echo '{"tool": {"ok": true}}' > tmp-run-state.json
        """)
    repo.add("user", "tags: [user]\ndeps: [{tags: tool}]\nnew_env_keys: [USED]\nnew_state_keys: [tool]\n",
             'echo "USED=$(mytool)" >> tmp-run-env.out\n')
    out = cmx("run", "script", "--tags=user", "-j").json
    assert out["new_env"]["USED"] == "tool-ran"
    assert out["new_state"]["tool"] == {"ok": True}


def test_input_mapping_variations_and_user_env_precedence(repo, cmx):
    repo.add("p", """
        tags: [p]
        default_env: {A: default}
        env: {B: meta}
        input_mapping: {a: A}
        variations:
          v: {env: {B: variation, C: variation}}
        new_env_keys: [A, B, C]
        """, "true\n")
    out = cmx("run", "script", "--tags=p,_v", "--a=flag", "--env.C=user", "-j").json["new_env"]
    assert out == {"A": "flag", "B": "variation", "C": "user"}
    out = cmx("run", "script", "--tags=p,_v", "--const.B=const", "-j").json["new_env"]
    assert out["B"] == "const"


def test_deferred_condition_on_a_dependency_output(repo, cmx, tmp_path):
    repo.add("gpu", "tags: [fake-gpu]\nnew_env_keys: [GPU_COUNT]\n", 'echo "GPU_COUNT=$FAKE_GPUS" >> tmp-run-env.out\n')
    repo.add("cuda", "tags: [fake-cuda]\n", f'echo cuda >> {tmp_path}/cuda.log\n')
    repo.add("app", """
        tags: [app]
        deps:
          - tags: fake-gpu
            env: {FAKE_GPUS: "<<<GPUS>>>"}
          - tags: fake-cuda
            skip_if_env: {GPU_COUNT: ["0", ""]}
        default_env: {GPUS: "0"}
        input_mapping: {gpus: GPUS}
        """, "true\n")
    plan = cmx("run", "script", "--tags=app", "--dry-run", "-j").json["plan"]
    assert any(d.get("if") for n in plan for d in n["deps"])
    assert cmx("run", "script", "--tags=app").code == 0
    assert not (tmp_path / "cuda.log").exists()
    assert cmx("run", "script", "--tags=app", "--gpus=2").code == 0
    assert (tmp_path / "cuda.log").exists()


def test_adr_patches_named_dependencies_in_the_subtree(repo, cmx):
    repo.add("py", "tags: [py]\nnew_env_keys: [PYV]\nvariations:\n  old: {env: {PYV: old}}\n  new: {env: {PYV: new}}\n",
             'echo "PYV=${PYV:-none}" >> tmp-run-env.out\n')
    repo.add("lib", "tags: [lib]\ndeps: [{tags: py, names: [python]}]\nnew_env_keys: [PYV]\n", "true\n")
    repo.add("app", "tags: [app]\ndeps: [{tags: lib}]\nnew_env_keys: [PYV]\n", "true\n")
    assert cmx("run", "script", "--tags=app", "-j").json["new_env"]["PYV"] == "none"
    assert cmx("run", "script", "--tags=app", "--adr.python.tags=_new", "-j").json["new_env"]["PYV"] == "new"


def _meet(folder: Path, name: str, count: int) -> str:
    """A script that says it started, then waits (at most 60 s) until ``count`` scripts have: it
    ends with exit 4 unless that many run side by side. A handshake, not a measured overlap."""
    return (f'touch "{folder}/{name}"\n'
            f'n=0; while [ "$(ls "{folder}" | wc -l)" -lt {count} ]; do n=$((n+1)); [ $n -gt 1200 ] && exit 4; '
            'sleep 0.05; done\n')


def test_parallel_jobs_run_independent_nodes_side_by_side(repo, cmx, tmp_path):
    meet = tmp_path / "meet"
    meet.mkdir()
    for k in range(4):
        repo.add(f"w{k}", f"tags: [work, w{k}]\n", _meet(meet, f"w{k}", 4))
    repo.add("all", "tags: [all]\ndeps:\n" + "".join(f"  - tags: work,w{k}\n" for k in range(4)), "true\n")
    res = cmx("run", "script", "--tags=all", "--jobs", "4")
    assert res.code == 0, res.err  # with fewer than 4 at once, the first waits in vain and fails
    assert sorted(p.name for p in meet.iterdir()) == ["w0", "w1", "w2", "w3"]
    assert cmx("run", "script", "--tags=all", "--jobs=0").code == 2


def test_secrets_never_reach_disk(repo, cmx, home):
    repo.add("s", "tags: [s]\ncache: true\nnew_env_keys: [HF_TOKEN, SEEN]\n",
             'echo "SEEN=${#HF_TOKEN}" >> tmp-run-env.out\necho "token is $HF_TOKEN"\n')
    secret = "hf_SUPERSECRETVALUE123"
    out = cmx("run", "script", "--tags=s", f"--env.HF_TOKEN={secret}", "-j", "--lock", str(home / "l.json"))
    assert out.code == 0 and out.json["new_env"]["SEEN"] == str(len(secret))
    hits = []
    for root, _, files in os.walk(home / "cache"):
        for f in files:
            if f == "cmx-run.log":
                continue  # the script itself printed it: that is the recipe's doing
            if secret in Path(root, f).read_text(errors="replace"):
                hits.append(os.path.join(root, f))
    assert hits == []
    assert secret not in (home / "l.json").read_text()
    entry = store_entries(home)[0]
    assert "HF_TOKEN" not in (entry / "tmp-run.sh").read_text().split("# passed from the environment")[0]
    # changing a secret does not invalidate the cache
    again = cmx("run", "script", "--tags=s", "--env.HF_TOKEN=other", "-j").json
    assert again["cached"]


def test_probe_expiry_and_probe_output_feeds_keys(repo, cmx, home):
    repo.add("probe", "tags: [myprobe]\nprobe: true\ncache: true\ncache_expiration: 1h\nnew_env_keys: [FACT]\n",
             'echo "FACT=$(cat $FACT_FILE)" >> tmp-run-env.out\n')
    repo.add("user", "tags: [user]\ncache: true\ndeps: [{tags: myprobe}]\nnew_env_keys: [FACT]\n", "true\n")
    fact = home / "fact"
    fact.write_text("one")
    first = cmx("run", "script", "--tags=user", f"--env.FACT_FILE={fact}", "-j").json
    assert first["new_env"]["FACT"] == "one"
    assert cmx("run", "script", "--tags=user", f"--env.FACT_FILE={fact}", "-j").json["cached"]
    fact.write_text("two")  # the machine changed; the probe expired (cmx's clock moved on) and re-runs
    third = cmx("run", "script", "--tags=user", f"--env.FACT_FILE={fact}", "-j", env={"CMX_CLOCK_SHIFT": "61m"}).json
    assert third["new_env"]["FACT"] == "two" and not third["cached"]


def test_lock_and_frozen(repo, cmx, home):
    d = repo.add("a", "tags: [a]\ncache: true\n", "true\n")
    lock = home / "cmx.lock.json"
    assert cmx("run", "script", "--tags=a", "--lock", str(lock)).code == 0
    data = json.loads(lock.read_text())
    assert data["lockfile_format"] == 1 and data["nodes"]["0"]["recipe"] == "a"
    assert cmx("run", "script", "--tags=a", "--frozen", str(lock)).code == 0
    res = cmx("run", "script", "--tags=a", "--env.X=1", "--frozen", str(lock))
    assert res.code == 2 and "env X" in res.err
    (d / "run.sh").write_text("true # changed\n")
    res = cmx("run", "script", "--tags=a", "--frozen", str(lock))
    assert res.code == 2 and "recipe content changed" in res.err


def test_new_rebuilds_and_skip_cache_runs_uncached(repo, cmx, home):
    repo.add("n", "tags: [n]\ncache: true\nnew_env_keys: [PID]\n", 'echo "PID=$$" >> tmp-run-env.out\n')
    a = cmx("run", "script", "--tags=n", "-j").json
    b = cmx("run", "script", "--tags=n", "--new", "-j").json
    assert not b["cached"] and a["new_env"]["PID"] != b["new_env"]["PID"] and a["cache_path"] == b["cache_path"]
    c = cmx("run", "script", "--tags=n", "--skip_cache", "-j").json
    assert not c["cached"] and "/runs/" in c["cache_path"]
    assert cmx("run", "script", "--tags=n", "-j").json["new_env"]["PID"] == b["new_env"]["PID"]
    r = cmx("run", "script", "--tags=n", "--renew", "-j").json  # CM's spelling of --new, never replayed from a memo
    assert not r["cached"] and r["new_env"]["PID"] != b["new_env"]["PID"] and r["cache_path"] == b["cache_path"]


def test_json_output_is_one_object_even_when_quiet(cmx):
    res = cmx("run", "script", "--tags=print,hello-world", "-j", "--quiet")
    assert res.code == 0
    out = res.json
    assert set(out) >= {"return", "new_env", "new_state", "cached", "cache_path", "plan"}
    assert out["return"] == 0 and isinstance(out["cached"], bool)
    assert res.err == ""


def test_several_matches_choose_deterministically_and_say_so(repo, cmx):
    repo.add("zeta", "tags: [twin]\nnew_env_keys: [W]\n", 'echo W=zeta >> tmp-run-env.out\n')
    repo.add("alpha", "tags: [twin]\nnew_env_keys: [W]\n", 'echo W=alpha >> tmp-run-env.out\n')
    res = cmx("run", "script", "--tags=twin", "-j")
    assert res.json["new_env"]["W"] == "alpha"
    assert "matched 2 recipes" in res.err and "zeta" in res.err


def test_a_recipe_with_a_higher_sort_yields_without_a_note(repo, cmx):
    repo.add("alpha", "tags: [pair]\nsort: 50\nnew_env_keys: [W]\n", 'echo W=alpha >> tmp-run-env.out\n')
    repo.add("zeta", "tags: [pair]\nnew_env_keys: [W]\n", 'echo W=zeta >> tmp-run-env.out\n')
    res = cmx("run", "script", "--tags=pair", "-j")
    assert res.json["new_env"]["W"] == "zeta" and "matched" not in res.err


def test_jobs_2_overlaps_two_independent_nodes(repo, cmx, tmp_path):
    meet = tmp_path / "meet"
    meet.mkdir()
    for k in range(2):
        repo.add(f"s{k}", f"tags: [sl, s{k}]\n", _meet(meet, f"s{k}", 2))
    repo.add("fan", "tags: [fan]\ndeps: [{tags: 'sl,s0'}, {tags: 'sl,s1'}]\n", "true\n")
    res = cmx("run", "script", "--tags=fan", "--jobs=2")
    assert res.code == 0, res.err  # the two ran side by side: each saw the other start


def test_jobs_never_runs_a_dependency_its_condition_skips(repo, cmx, tmp_path):
    repo.add("flag", "tags: [flag]\nnew_env_keys: [EXP_FLAG]\n", "echo EXP_FLAG=yes >> tmp-run-env.out\n")
    repo.add("noisy", "tags: [noisy]\n", f"touch {tmp_path}/noisy-ran\n")
    repo.add("cond", "tags: [cond]\ndeps:\n  - tags: flag\n  - tags: noisy\n    skip_if_env: {EXP_FLAG: [yes]}\n", "true\n")
    plan = cmx("run", "script", "--tags=cond", "--dry-run", "-j").json["plan"]
    assert [n["status"] for n in plan if n["recipe"] == "noisy"] == ["maybe"]
    assert cmx("run", "script", "--tags=cond", "--jobs=4").code == 0
    assert not (tmp_path / "noisy-ran").exists()


def test_print_in_customize_does_not_break_json(repo, cmx):
    repo.add("chatty", "tags: [chatty]\n", "true\n", customize="""
        def preprocess(i):
            print("hello from a hook")
            return {"return": 0}
        """)
    res = cmx("run", "script", "--tags=chatty", "-j")
    assert res.json["return"] == 0 and "hello from a hook" in res.err


def test_customize_import_error_is_a_reported_run_failure(repo, cmx, home):
    repo.add("imp", "tags: [imp]\ncache: true\n", "true\n", customize="import no_such_module_xyz\n")
    res = cmx("run", "script", "--tags=imp")
    assert res.code == 1 and "No module named 'no_such_module_xyz'" in res.err
    assert "re-run only this node" in res.err and "Traceback" not in res.err
    assert not any((home / "cache" / ".tmp").iterdir())


def test_lock_timeout_is_a_clear_error(repo, cmx, home):
    from filelock import FileLock
    repo.add("locked", "tags: [locked]\ncache: true\n", "true\n")
    key = cmx("run", "script", "--tags=locked", "--dry-run", "-j").json["plan"][0]["key"]
    (home / "cache" / ".locks").mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / "cache" / ".locks" / f"{key}.lock")):
        res = cmx("run", "script", "--tags=locked", env={"CMX_LOCK_TIMEOUT": "1"})
    assert res.code == 1 and "timed out" in res.err and "CMX_LOCK_TIMEOUT" in res.err


def test_new_file_in_a_recipe_subfolder_changes_its_key(repo, cmx):
    d = repo.add("sub", "tags: [sub]\ncache: true\n", "true\n")
    (d / "lib").mkdir()
    (d / "lib" / "a.txt").write_text("a")
    k1 = cmx("run", "script", "--tags=sub", "--dry-run", "-j").json["plan"][0]["key"]
    (d / "lib" / "b.txt").write_text("b")
    k2 = cmx("run", "script", "--tags=sub", "--dry-run", "-j").json["plan"][0]["key"]
    assert k1 != k2


def test_ad_is_direct_and_adr_version_names_the_command_line(repo, cmx):
    repo.add("v", "tags: [v]\nversion_max: '3'\nnew_env_keys: [SEEN_V]\n", 'echo "SEEN_V=$CMX_VERSION" >> tmp-run-env.out\n')
    repo.add("mid", "tags: [mid]\ndeps: [{tags: v, names: [vee]}]\nnew_env_keys: [SEEN_V]\n", "true\n")
    repo.add("top", "tags: [top]\ndeps: [{tags: mid}]\nnew_env_keys: [SEEN_V]\n", "true\n")
    assert cmx("run", "script", "--tags=top", "--adr.vee.version=2", "-j").json["new_env"]["SEEN_V"] == "2"
    # --ad reaches direct dependencies only: a deeper name is an error pointing at --adr (never silently ignored)
    res = cmx("run", "script", "--tags=top", "--ad.vee.version=2", "-j")
    assert res.code == 2 and "no direct dependency of 'top' is named 'vee'" in res.err and "--adr.vee" in res.err
    res = cmx("run", "script", "--tags=top", "--adr.vee.version=5")
    assert res.code == 2 and "--adr.vee (the command line)" in res.err


def test_continue_on_error_and_dep_key_typos(repo, cmx):
    repo.add("bad", "tags: [bad]\n", "exit 4\n")
    repo.add("tolerant", "tags: [tolerant]\ndeps: [{tags: bad, continue_on_error: true}]\n", "true\n")
    assert cmx("run", "script", "--tags=tolerant").code == 0
    repo.add("typo", "tags: [typo]\ndeps:\n  - tags: bad\n    enable_if_evn: {X: [yes]}\n", "true\n")
    res = cmx("run", "script", "--tags=typo")
    assert res.code == 2 and "did you mean the dependency key 'enable_if_env'" in res.err


def test_jobs_2_never_deadlocks_on_a_hook_dependency(repo, cmx):
    """dlR -> [dlA, dlC]; dlA -> dlB (slow); dlC has a prehook dlX -> dlA: a helping thread must not
    start dlC while it is itself in the middle of dlA."""
    repo.add("dlB", "tags: [dlB]\n", "sleep 1\n")
    repo.add("dlA", "tags: [dlA]\ndeps: [{tags: dlB}]\n", "true\n")
    repo.add("dlX", "tags: [dlX]\ndeps: [{tags: dlA}]\n", "true\n")
    repo.add("dlC", "tags: [dlC]\nprehook_deps: [{tags: dlX}]\n", "true\n")
    repo.add("dlR", "tags: [dlR]\ndeps: [{tags: dlA}, {tags: dlC}]\n", "true\n")
    for jobs in ("1", "2", "3"):
        assert cmx("run", "script", "--tags=dlR", f"--jobs={jobs}", "-q", timeout=60).code == 0


def test_secret_inputs_are_never_recorded(repo, cmx, home):
    repo.add("secin", "tags: [secin]\ncache: true\ninput_mapping: {hf_token: HF_TOKEN}\nnew_env_keys: [LEN]\n",
             'echo "LEN=${#HF_TOKEN}" >> tmp-run-env.out\n')
    lock = home / "si.lock"
    out = cmx("run", "script", "--tags=secin", "--hf_token=sekrit123", "--lock", str(lock), "-j")
    assert out.code == 0 and out.json["new_env"]["LEN"] == "9"
    cmx("run", "script", "--tags=secin", "--hf_token=sekrit123", "-j")
    # a secret inside another input's value (as a wrapper recipe passes flags on) is masked too
    repo.add("wrapin", "tags: [wrapin]\ninput_mapping: {args: WRAP_ARGS}\n", "exit 3\n")
    failed = cmx("run", "script", "--tags=wrapin", '--args=["--env.HF_TOKEN=sekrit123"]')
    assert failed.code == 1 and "HF_TOKEN=***" in failed.err
    for root, _, files in os.walk(home):
        for f in files:
            assert "sekrit123" not in Path(root, f).read_text(errors="replace"), os.path.join(root, f)


def test_user_env_wins_over_hook_dependency_outputs(repo, cmx):
    repo.add("exporter", "tags: [exporter]\nnew_env_keys: [EXP_FLAG]\n", "echo EXP_FLAG=yes >> tmp-run-env.out\n")
    repo.add("pinhook", "tags: [pinhook]\nprehook_deps: [{tags: exporter}]\nnew_env_keys: [SEEN_EXP]\n",
             'echo "SEEN_EXP=$EXP_FLAG" >> tmp-run-env.out\n')
    assert cmx("run", "script", "--tags=pinhook", "--env.EXP_FLAG=no", "-j").json["new_env"]["SEEN_EXP"] == "no"
    assert cmx("run", "script", "--tags=pinhook", "-j").json["new_env"]["SEEN_EXP"] == "yes"


def test_secret_shapes_never_reach_disk(repo, cmx, home, tmp_path):
    """The five shapes in which secrets used to reach the disk: masked in entries, lockfiles, memos,
    logs, failure folders, re-run hints and explain output; the script still gets the real values."""
    import hashlib

    repo.add("sdep", "tags: [sdep]\ncache: true\nnew_env_keys: [SDEP_*]\n",
             'echo "SDEP_LEN=${#HF_TOKEN}" >> tmp-run-env.out\necho "dep sees $HF_TOKEN"\n')
    repo.add("sroot", "tags: [sroot]\ncache: true\ndeps: [{tags: sdep, names: [X]}]\n"
             "input_mapping: {url: S_URL}\nnew_env_keys: [S_*]\n",
             'echo "S_URL_OUT=$S_URL" >> tmp-run-env.out\necho "S_A_OUT=$S_A" >> tmp-run-env.out\n'
             'echo "S_HASH=$(printf %s "$S_URL|$S_A" | sha256sum | cut -c1-16)" >> tmp-run-env.out\n'
             'echo "fetching $S_URL with $S_A"\n[ -z "$S_FAIL" ] || exit 3\n')
    secrets = ["sek1-adr-env", "sek2-nested", "sek3-query", "sek4-userinfo", "sek5-sig"]
    commands = [
        ["--adr.X.env.HF_TOKEN=sek1-adr-env"],
        ["--env.S_A=HF_TOKEN=sek2-nested"],
        ["--url=https://files.example/m.bin?token=sek3-query&rev=2"],
        ["--url=https://user:sek4-userinfo@files.example/m.bin?sig=sek5-sig", "--lock", str(home / "l.json")],
    ]
    for flags in commands:
        for _ in range(2):  # twice: the second run is the one a memo would be written for
            out = cmx("run", "script", "--tags=sroot", *flags, "-j")
            assert out.code == 0, out.err
        assert cmx("explain", "script", "--tags=sroot", *flags).code == 0
    url = "https://user:sek4-userinfo@files.example/m.bin?sig=sek5-sig"
    got = cmx("run", "script", "--tags=sroot", f"--url={url}", "--env.S_A=HF_TOKEN=sek2-nested", "-j")
    want = hashlib.sha256(f"{url}|HF_TOKEN=sek2-nested".encode()).hexdigest()[:16]
    assert got.json["new_env"]["S_HASH"] == want  # the real values reached the script
    assert got.json["new_env"]["S_URL_OUT"] == "https://user:***@files.example/m.bin?sig=***"
    failed = cmx("run", "script", "--tags=sroot", f"--url={url}", "--env.S_FAIL=1")
    assert failed.code == 1 and "user:***@" in failed.err
    printed = [got.out, got.err, failed.out, failed.err, cmx("show", "cache", "-j").out]
    hits = []
    for root, _, files in os.walk(home):
        for f in files:
            text = Path(root, f).read_text(errors="replace")
            hits += [(os.path.join(root, f), s) for s in secrets if s in text]
    assert hits == []
    assert not any(s in text for s in secrets for text in printed)
    assert (home / "l.json").is_file() and list((home / "cache" / ".failed").iterdir())
