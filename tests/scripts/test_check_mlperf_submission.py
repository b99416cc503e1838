"""check,mlperf,submission end to end: the real recipe on trees built from real short
LoadGen runs (tests/flexbench/mlperf/checktrees.py), and with _official, MLPerf's two
checkers from the local mlcommons/inference mirror through get,git,repo."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cmx
from tests.flexbench.mlperf import checktrees as ct

TAGS = "--tags=check,mlperf,submission"


def tree(tmp_path: Path, *, compliant: bool) -> Path:
    res = ct.add_result(tmp_path / "sub", ct.real_run("offline"))
    if compliant:
        ct.make_compliant(res)
        ct.set_log_value(res / "performance/run_1/mlperf_log_detail.txt", "effective_sample_concatenate_permutation", True)
    return tmp_path / "sub"


def test_passing_tree_exits_0_with_report_and_summary_csv(home, tmp_path):
    root = tree(tmp_path, compliant=True)
    out_csv = tmp_path / "out" / "summary.csv"
    res = run_cmx("run", "script", TAGS, f"--input={root}", f"--csv={out_csv}", "-j", home=home)
    assert res.code == 0, res.err[-2000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_CHECK_PASSED"] == "yes" and env["CMX_MLPERF_CHECK_RESULTS"] == "1"
    assert env["CMX_MLPERF_CHECK_SUMMARY_CSV"] == str(out_csv)
    rows = list(csv.DictReader(out_csv.open()))
    assert rows[0]["MlperfModel"] == "llama3.1-8b" and rows[0]["Scenario"] == "Offline"
    report = json.loads(Path(env["CMX_MLPERF_CHECK_REPORT"]).read_text())
    assert report["passed"] and report["results"][0]["key"] == "open/FlexBench/cpu-noop/llama3.1-8b/Offline"
    assert res.json["new_state"]["mlperf_check"]["round"] == "v6.1"
    assert "PASS open/FlexBench/cpu-noop/llama3.1-8b/Offline" in res.err


def test_failing_tree_exits_1_naming_rule_file_found_and_required(home, tmp_path):
    root = tree(tmp_path, compliant=False)
    res = run_cmx("run", "script", TAGS, f"--input={root}", home=home)
    assert res.code == 1
    assert "FAIL open/FlexBench/cpu-noop/llama3.1-8b/Offline" in res.err
    assert "perf.min_duration" in res.err and "found 0, required >= 600000 ms" in res.err
    assert "1 of 1 results fail the MLPerf v6.1 rules" in res.err and "Traceback" not in res.err


def test_fail_on_reject_no_still_reports_the_verdict(home, tmp_path):
    root = tree(tmp_path, compliant=False)
    res = run_cmx("run", "script", TAGS, f"--input={root}", "--fail_on_reject=no", "-j", home=home)
    assert res.code == 0, res.err[-2000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_CHECK_PASSED"] == "no" and env["CMX_MLPERF_CHECK_FAILED"] == "1"
    findings = res.json["new_state"]["mlperf_check"]["results"][0]["findings"]
    assert {"perf.min_duration", "acc.dataset_size"} <= {f["rule"] for f in findings}


def test_skip_dataset_size_check(home, tmp_path):
    root = tree(tmp_path, compliant=True)
    res_dir = root / "open/FlexBench/results/cpu-noop/llama3.1-8b/Offline"
    ct.set_log_value(res_dir / "accuracy/mlperf_log_detail.txt", "effective_accuracy_sample_count", 16)
    assert run_cmx("run", "script", TAGS, f"--input={root}", home=home).code == 1
    res = run_cmx("run", "script", TAGS, f"--input={root}", "--skip_dataset_size_check=yes", home=home)
    assert res.code == 0, res.err[-2000:]


def test_bad_input_is_a_short_clear_error(home, tmp_path):
    res = run_cmx("run", "script", TAGS, home=home)
    assert res.code == 1 and "give --input=DIR" in res.err and "Traceback" not in res.err
    res = run_cmx("run", "script", TAGS, f"--input={tmp_path / 'nope'}", home=home)
    assert res.code == 1 and "no such folder" in res.err
    res = run_cmx("run", "script", TAGS, f"--input={tmp_path}", home=home)
    assert res.code == 1 and "no division folder" in res.err


def test_module_cli_exit_codes(tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flexbench.mlperf.check", *args], capture_output=True,
                              text=True, cwd=ROOT)

    good, bad = tree(tmp_path / "a", compliant=True), tree(tmp_path / "b", compliant=False)
    assert cli("--input", str(good)).returncode == 0
    out = cli("--input", str(bad), "-j")
    assert out.returncode == 1 and json.loads(out.stdout)["passed"] is False
    usage = cli("--input", str(tmp_path / "nope"))
    assert usage.returncode == 2 and "not a folder" in usage.stderr and "Traceback" not in usage.stderr
    assert cli().returncode == 2


def test_meta_tests_pass(home):
    res = run_cmx("test", "script", "check-mlperf-submission", home=home)
    assert res.code == 0, res.err[-2000:]


@pytest.mark.skipif(not ct.mirror_available(), reason=ct.MIRROR_SKIP)
def test_official_variation_runs_both_mlperf_checkers_from_a_sparse_checkout(home, tmp_path):
    good, bad = tree(tmp_path / "a", compliant=True), tree(tmp_path / "b", compliant=False)
    res = run_cmx("run", "script", TAGS + ",_official", f"--input={good}", f"--inference_repo={ct.MIRROR}", "-j",
                  home=home)
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_OFFICIAL_NEW_PASSED"] == env["CMX_MLPERF_OFFICIAL_OLD_PASSED"] == "yes"
    assert env["CMX_MLPERF_CHECK_AGREES"] == "yes"
    assert Path(env["CMX_MLPERF_OFFICIAL_NEW_CSV"]).read_text().startswith("Organization,Availability,")
    assert "official: new PASS, old PASS" in res.err
    # the checkout was sparse: no sample trees, no model code
    checker = Path(env["CMX_MLPERF_OFFICIAL_CHECKER_DIR"])
    assert not (checker / "directory_structure_samples").exists() and not (checker.parents[1] / "language").exists()

    res = run_cmx("run", "script", TAGS + ",_official", f"--input={bad}", f"--inference_repo={ct.MIRROR}",
                  "--fail_on_reject=no", "-j", home=home)
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_CHECK_PASSED"] == env["CMX_MLPERF_OFFICIAL_NEW_PASSED"] == "no"
    assert env["CMX_MLPERF_OFFICIAL_OLD_PASSED"] == "no" and env["CMX_MLPERF_CHECK_AGREES"] == "yes"
    agreement = res.json["new_state"]["mlperf_check"]["agreement"]
    assert agreement == [{"key": "open/FlexBench/cpu-noop/llama3.1-8b/Offline", "ours": False, "new": False,
                          "old": False, "official": False, "agrees": True}]


@pytest.mark.skipif(not ct.mirror_available(), reason=ct.MIRROR_SKIP)
def test_official_with_an_existing_checkout_and_a_disagreement_flagged(home, tmp_path):
    clone = tmp_path / "inference"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ct.MIRROR), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "sparse-checkout", "set", "--cone", "tools/submission/submission_checker"],
                   check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q"], check=True)
    root = tree(tmp_path / "t", compliant=True)
    ct.set_log_value(root / "open/FlexBench/results/cpu-noop/llama3.1-8b/Offline/performance/run_1/mlperf_log_detail.txt",
                     "result_validity", "INVALID")
    res = run_cmx("run", "script", TAGS + ",_official", f"--input={root}", f"--inference_checkout={clone}",
                  "--fail_on_reject=no", "-j", home=home)
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    # the modular checker accepts the INVALID run, the old one does not: both verdicts are shown
    assert (env["CMX_MLPERF_OFFICIAL_NEW_PASSED"], env["CMX_MLPERF_OFFICIAL_OLD_PASSED"]) == ("yes", "no")
    assert env["CMX_MLPERF_CHECK_AGREES"] == "yes" and "official: new PASS, old FAIL" in res.err
