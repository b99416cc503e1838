"""`run,mlperf,flexbench,_submission`: benchmark runs -> submission tree -> check, in one command.

Real LoadGen runs (the instant `_noop` backend for the quick cases, the embedded SmolLM2 for the
slow full-length one), the real packager and checker. Shares the FlexBench test home with
tests/scripts/test_flexbench.py so the benchmark venv is built once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flexbench.mlperf import checktrees as ct
from tests.conftest import run_cmx
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


def test_unknown_scenario_and_benchmark_fail_before_any_run(fhome):
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_noop", "--scenarios=ofline")
    assert res.code == 1 and "--scenarios: unknown scenario ofline" in res.err
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_noop", "--benchmark=llama9-8b")
    assert res.code == 1 and "llama9-8b" in res.err and "Traceback" not in res.err.split("last lines")[0]
    assert "raised" not in res.err  # a message about the input, not a crash report


@pytest.mark.parametrize("value, message", [
    ("{tdp", "--power_args is not JSON"),
    ("[1]", "--power_args must be a JSON object, got list"),
    ('{"workload_tags": "x"}', "--power_args: 'workload_tags' is not an input"),
    ('{"tdp_w": [1]}', "--power_args: tdp_w must be a string or a number"),
])
def test_bad_power_args_fail_before_any_run(fhome, tmp_path, value, message):
    res = cmx(fhome, "run", "script", "--tags=run,mlperf,flexbench,_submission,_noop,_short,_power.estimate",
              f"--power_args={value}", f"--out_dir={tmp_path / 'sub'}")
    assert res.code == 1 and message in res.err and "raised" not in res.err and "Traceback" not in res.err
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
