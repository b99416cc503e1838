"""`run,mlperf,flexbench,_submission`: benchmark runs -> submission tree -> check, in one command.

Real LoadGen runs (the instant `_noop` backend for the quick cases, the embedded SmolLM2 for the
slow full-length one), the real packager and checker. Shares the FlexBench test home with
tests/scripts/test_flexbench.py so the benchmark venv is built once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flexbench.mlperf import checktrees as ct
from tests.conftest import ROOT, run_cmx
from tests.scripts.test_flexbench import cmx


def _tree_results(tree: Path) -> list[Path]:
    return sorted(p for p in tree.glob("*/*/results/*/*/*") if p.is_dir())


def test_short_submission_builds_a_tree_that_the_checker_rejects_and_json_gives_its_path(fhome, tmp_path):
    out = tmp_path / "sub"
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_short,_noop",
              "--samples=8", "--scenarios=offline,server", "--target_qps=400", f"--out_dir={out}",
              "--submitter=cmx-test", "-j")
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    tree = Path(env["CMX_MLPERF_SUBMISSION_DIR"])
    assert tree.is_dir() and tree == out
    assert env["CMX_MLPERF_CHECK_VERDICT"] == "rejected"
    scen = _tree_results(tree)
    assert {p.name for p in scen} == {"Offline", "Server"}, scen
    for p in scen:
        assert (p / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
        assert (p / "accuracy" / "accuracy.txt").read_text().splitlines()[-1].startswith("hash=")
        assert json.loads((p / "measurements.json").read_text())
    # _noop runs no model: the results sit under the benchmark's own name, which needs no model_mapping.json
    assert {p.parent.name for p in scen} == {"llama3.1-8b"}
    assert "expected" in res.err or "expected" in res.out  # says the rejection is the expected outcome
    # progress: the flow's steps, then each inner run's own lines
    assert "run-mlperf-flexbench: 4 steps:" in res.err
    for n, what in enumerate(["FlexBench offline run", "FlexBench server run", "packaging", "checking"], 1):
        assert f"[flow {n}/4] {what}" in res.err, res.err[-3000:]
    assert "run-flexbench(_all,_mini,_no-model,_noop,_offline)" in res.err  # an inner run's progress line
    assert len(env["CMX_MLPERF_RESULTS"].split(",")) == 2


def test_quiet_flow_prints_nothing(fhome, tmp_path):
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_short,_noop", "--samples=8",
              f"--out_dir={tmp_path / 'sub'}", "-q")
    assert res.code == 0, res.err[-3000:]
    assert res.err == "" and res.out == ""
    assert (tmp_path / "sub").is_dir()


@pytest.mark.parametrize("tags, needed", [
    ("run,mlperf,flexbench,_submission", ["install-python-package,_package.torch", "get-ml-model-smollm2",
                                          "run-flexbench,_all,_hf,_mini,_offline,_prepare,_smollm2"]),
    ("run,mlperf,flexbench,_submission,_noop", ["install-python-package,_package.mlcommons-loadgen",
                                                "run-flexbench,_all,_mini,_no-model,_noop,_offline,_prepare"]),
])
def test_dry_run_shows_what_the_inner_runs_need(tmp_path, tags, needed):
    res = run_cmx("run", "script", f"--tags={tags}", "--dry-run", "-j", home=tmp_path)
    assert res.code == 0, res.err
    planned = [n["recipe"] + "".join(f",_{v}" for v in n["variations"]) for n in res.json["plan"]]
    for item in needed:
        assert item in planned, planned
    assert planned[-1].startswith("run-mlperf-flexbench")


@pytest.mark.parametrize("arg, message", [
    ("--scenarios=ofline", "--scenarios=ofline must list only: offline, server, singlestream, multistream (not ofline)"),
    ("--scenarios=offline,,server", "--scenarios=offline,,server has an empty item"),
    ("--benchmark=llama9-8b", "--benchmark=llama9-8b must be one of: resnet, "),
    ("--division=opne", "--division=opne must be one of: open, closed, network"),
    ("--status=soon", "--status=soon must be one of: available, preview, rdi"),
    ("--system_type=Edge", "--system_type=Edge must be one of: datacenter, edge"),
])
def test_bad_inputs_fail_at_plan_time_with_exit_2(tmp_path, arg, message):
    """In a new home: nothing is built before the error (the flow once built the benchmark venv, and
    without _noop torch and the model, then failed with exit 1)."""
    res = run_cmx("run", "script", "--tags=run,mlperf,flexbench,_submission,_noop", arg, home=tmp_path)
    assert res.code == 2 and message in res.err and "Traceback" not in res.err, res.err[-2000:]
    assert not (tmp_path / "cache" / "store").exists()


def test_scenarios_in_mlperf_spelling_pass_the_plan_time_check(tmp_path):
    """MLPerf (and CM's --scenario) write Offline and Server; the check compares items in any case."""
    res = run_cmx("run", "script", "--tags=run,mlperf,flexbench,_submission,_noop", "--scenarios=Offline,Server",
                  "--dry-run", home=tmp_path)
    assert res.code == 0, res.err[-2000:]


def test_the_choices_of_the_meta_are_the_rules_names():
    import yaml

    from flexbench.mlperf import rules

    desc = yaml.safe_load((ROOT / "scripts" / "run-mlperf-flexbench" / "meta.yaml").read_text())["input_description"]
    assert tuple(desc["benchmark"]["choices"]) == rules.BENCHMARKS
    assert set(desc["division"]["choices"]) == set(rules.DIVISIONS)
    assert set(desc["status"]["choices"]) == set(rules.STATUSES)
    assert set(desc["system_type"]["choices"]) == set(rules.SYSTEM_TYPES) | set(rules.SYSTEM_TYPE_ALIASES)
    assert {s.lower() for s in rules.SCENARIOS} >= set(desc["scenarios"]["choices"]) == {
        "offline", "server", "singlestream", "multistream"}


@pytest.mark.parametrize("args, message", [
    (["--benchmark=llama3.1-8b-edge"], "--benchmark=llama3.1-8b-edge is not allowed for --system_type=datacenter"),
    (["--division=closed", "--system_type=edge", "--scenarios=offline,server"],
     "--scenarios: in the closed division, llama3.1-8b-edge (--system_type=edge) has only singlestream, offline"),
])
def test_inputs_that_do_not_fit_together_fail_before_any_run_with_exit_2(fhome, tmp_path, args, message):
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_short,_noop", "--samples=8",
              *args, f"--out_dir={tmp_path / 'sub'}")
    assert res.code == 2 and message in res.err and "Traceback" not in res.err, res.err[-2000:]
    assert "[flow 1/" not in res.err and not (tmp_path / "sub").exists()


def test_an_edge_system_gets_the_edge_benchmark(fhome, tmp_path):
    """--system_type=edge without --benchmark: llama3.1-8b-edge (llama3.1-8b is not an edge benchmark;
    the flow used it and failed in packaging, after the runs)."""
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_short,_noop", "--samples=8",
              "--system_type=edge", f"--out_dir={tmp_path / 'sub'}", "-j")
    assert res.code == 0, res.err[-3000:]
    assert {p.parent.name for p in _tree_results(tmp_path / "sub")} == {"llama3.1-8b-edge"}


@pytest.mark.parametrize("value, message", [
    ("{tdp", "--power_args is not JSON"),
    ("[1]", "--power_args must be a JSON object, got list"),
    ('{"workload_tags": "x"}', "--power_args: 'workload_tags' is not an input"),
    ('{"tdp_w": [1]}', "--power_args: tdp_w must be a string or a number"),
])
def test_bad_power_args_fail_before_any_run(fhome, tmp_path, value, message):
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_noop,_short,_power.estimate",
              f"--power_args={value}", f"--out_dir={tmp_path / 'sub'}")
    assert res.code == 2 and message in res.err and "raised" not in res.err and "Traceback" not in res.err
    assert not (tmp_path / "sub").exists()


# with CMX_TEST_INFERENCE_MIRROR set (see checktrees.MIRROR_SKIP), MLPerf's own checkers run too
OFFICIAL = ct.mirror_available()


@pytest.mark.slow
def test_full_length_submission_on_the_embedded_default(fhome, tmp_path):
    """600 s Offline performance run (13,368-sample QSL, >= 13,368 samples in the query), accuracy
    over the whole mini dataset, packaged and checked. Our checker must accept the tree (open
    division: the accuracy shortfall of a 135M model against llama3.1-8b's targets is a warning
    there), and, where a copy of mlcommons/inference is at hand, agree with MLPerf's checkers.
    8 output tokens per sample keep it near half an hour on 2 cores."""
    out = tmp_path / "sub"
    args = ["--tags=run,mlperf,flexbench,_submission" + (",_official" if OFFICIAL else ""),
            "--max_output_tokens=8", f"--out_dir={out}", "-j"]
    if OFFICIAL:
        args.append(f"--inference_repo={ct.MIRROR}")
    res = cmx(fhome, "run", "script", *args)
    assert res.code == 0, res.err[-5000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_CHECK_VERDICT"] == "accepted", env
    if OFFICIAL:
        assert env["CMX_MLPERF_CHECK_AGREES"] == "yes", env
    (offline,) = _tree_results(Path(env["CMX_MLPERF_SUBMISSION_DIR"]))
    detail = (offline / "performance" / "run_1" / "mlperf_log_detail.txt").read_text()
    assert '"key": "effective_min_duration_ms", "value": 600000' in detail
    assert '"key": "result_validity", "value": "VALID"' in detail
