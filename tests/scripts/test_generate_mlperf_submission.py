"""The generate-mlperf-submission recipe through the real cmx command line, on real short FlexBench runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cmx
from tests.flexbench.mlperf.test_package import HOME, flexbench_run

TAGS = "--tags=generate,mlperf,submission"


def cmx(*args: str):
    return run_cmx(*args, home=HOME, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("gen-runs")
    return (flexbench_run(base / "all", "_offline", "--samples=8"),
            flexbench_run(base / "perf", "_offline,_performance", "--samples=8"))


def test_packages_and_exports_the_tree(runs, tmp_path):
    out = tmp_path / "sub"
    res = cmx("run", "script", TAGS, f"--results={runs[0]}", "--submitter=MyOrg", f"--out_dir={out}", "-j")
    assert res.code == 0, res.err[-2000:]
    env = res.json["new_env"]
    assert env["CMX_MLPERF_SUBMISSION_DIR"] == str(out)
    assert env["CMX_MLPERF_SUBMISSION_BENCHMARK"] == "llama3.1-8b" and env["CMX_MLPERF_SUBMISSION_DIVISION"] == "open"
    sub = Path(env["CMX_MLPERF_SUBMISSION_SUBMITTER_DIR"])
    assert sub == out / "open" / "MyOrg"
    system = env["CMX_MLPERF_SUBMISSION_SYSTEM"]
    assert json.loads((sub / "systems" / f"{system}.json").read_text())["submitter"] == "MyOrg"
    assert json.loads((sub / "model_mapping.json").read_text()) == {"SmolLM2-135M-Instruct": "llama3.1-8b"}
    assert (sub / "results" / system / "SmolLM2-135M-Instruct" / "Offline" / "accuracy" / "accuracy.txt").is_file()
    assert env["CMX_MLPERF_SUBMISSION_SCENARIOS"] == "SmolLM2-135M-Instruct/Offline"
    assert f"written to {out}" in res.err  # where it is, printed for the user
    assert not [k for k in env if k.startswith("CMX_MLPERF_GEN_")]  # inputs are not exported


def test_closed_division_and_overrides_file(runs, tmp_path):
    over = tmp_path / "sys.yaml"
    over.write_text("cooling: air\nhost_memory_configuration: 2x 12 GiB\n")
    res = cmx("run", "script", TAGS, f"--results={runs[0]}", "--submitter=MyOrg", f"--out_dir={tmp_path / 's'}",
              "--division=closed", "--system_name=Test Box", f"--system_overrides={over}", "-j")
    assert res.code == 0, res.err[-2000:]
    sub = Path(res.json["new_env"]["CMX_MLPERF_SUBMISSION_SUBMITTER_DIR"])
    desc = json.loads((sub / "systems" / "Test_Box.json").read_text())
    assert (desc["division"], desc["cooling"], desc["system_name"]) == ("closed", "air", "Test Box")
    assert (sub / "results" / "Test_Box" / "llama3.1-8b" / "Offline").is_dir()


@pytest.mark.parametrize("args, message", [
    (["--benchmark=llama3.1-8b-edge"], "benchmark 'llama3.1-8b-edge' is not allowed for system_type 'datacenter'"),
    (["--system_type=edge", "--benchmark=llama3.1-8b"], "allowed: "),
    (["--results=/nonexistent/run"], "result folder /nonexistent/run does not exist"),
    (["--division=opne"], "unknown division 'opne'"),
    (["--submitter="], "--submitter is required"),
])
def test_bad_input_is_one_clear_line(runs, tmp_path, args, message):
    base = [f"--results={runs[0]}", "--submitter=MyOrg", f"--out_dir={tmp_path / 's'}"]
    names = {a.split("=")[0] for a in args}
    res = cmx("run", "script", TAGS, *[a for a in base if a.split("=")[0] not in names], *args)
    assert res.code == 1 and message in res.err, res.err[-2000:]
    assert "Traceback" not in res.err and not (tmp_path / "s").exists()


def test_two_results_for_one_scenario_and_overwrite_refusal(runs, tmp_path):
    out = tmp_path / "s"
    res = cmx("run", "script", TAGS, f"--results={runs[0]},{runs[1]}", "--submitter=MyOrg", f"--out_dir={out}")
    assert res.code == 1 and "two performance results for SmolLM2-135M-Instruct/Offline" in res.err
    ok = cmx("run", "script", TAGS, f"--results={runs[1]}", "--submitter=MyOrg", f"--out_dir={out}")
    assert ok.code == 0, ok.err[-2000:]
    again = cmx("run", "script", TAGS, f"--results={runs[0]}", "--submitter=MyOrg", f"--out_dir={out}")
    assert again.code == 1 and "already exists; pass --force" in again.err
    forced = cmx("run", "script", TAGS, f"--results={runs[0]}", "--submitter=MyOrg", f"--out_dir={out}", "--force")
    assert forced.code == 0, forced.err[-2000:]
    assert (out / "open" / "MyOrg" / "results").is_dir()
    assert any(p.name == "accuracy" for p in out.rglob("accuracy"))


def test_meta_tests_pass():
    res = cmx("test", "script", "generate-mlperf-submission")
    assert res.code == 0, res.out[-2000:] + res.err[-2000:]
