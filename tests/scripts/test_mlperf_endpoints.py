"""MLPerf Endpoints export: FlexBench concurrency runs -> an Endpoints v1.0 tree -> the official checker
(endpoints-submission-cli 1.5.3.0 from PyPI, in its own venv). The full sweep is `make test-slow`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cmx
from tests.scripts.sse_server import SSEServer

GEN = "--tags=generate,mlperf,endpoints,submission"
CHECK = "--tags=check,mlperf,endpoints,submission"


def cmx(home, *args, **kw):
    return run_cmx(*args, home=home, timeout=2400, **kw)


def test_model_label_and_results_are_required(fhome, tmp_path):
    res = cmx(fhome, "run", "script", GEN, "--model_name=llama3.1-8b", f"--out_dir={tmp_path}")
    assert res.code == 1 and "--model_name=llama3.1-8b" in res.err and "llama3_1-8b" in res.err
    res = cmx(fhome, "run", "script", GEN, "--model_name=kimi-k3", f"--out_dir={tmp_path}")
    assert res.code == 1 and "no results given" in res.err
    res = cmx(fhome, "run", "script", CHECK)
    assert res.code == 1 and "--input is required" in res.err


@pytest.fixture(scope="module")
def one_point(fhome, tmp_path_factory):
    """One real concurrency run (the instant _noop backend at 33 in flight, with seed set A)."""
    res = cmx(fhome, "run", "script", "--tags=run,flexbench,_noop,_all", "--concurrency=33", "--samples=40",
              "--endpoints_seed_set=A", "-j")
    assert res.code == 0, res.err[-3000:]
    return Path(res.json["new_env"]["CMX_FLEXBENCH_RESULT"])


def test_one_point_exports_its_own_figures_and_the_checker_rejects_one_point(fhome, one_point, tmp_path):
    res = cmx(fhome, "run", "script", GEN, f"--results={one_point}", "--model_name=kimi-k3", f"--out_dir={tmp_path}", "-j")
    assert res.code == 0, res.err[-3000:]
    assert "1 points: the rules ask for 7 to 32" in res.err
    point = Path(res.json["new_env"]["CMX_ENDPOINTS_CURVE_DIR"]) / "r33"
    result = json.loads(one_point.read_text())
    summary = json.loads((point / "result_summary.json").read_text())
    lg = result["modes"]["performance"]["loadgen"]
    # the duration is LoadGen's; the tokens and latencies are the run's per-request clocks
    assert summary["n_samples_completed"] == summary["n_samples_issued"] >= 40
    assert summary["system_tps"] == pytest.approx(lg["tokens_per_second"], rel=0.01)
    assert summary["tps_per_user"] == pytest.approx(1000 / (summary["tpot"]["percentiles"]["90.0"] / 1e6))
    py = yaml.safe_load((point / "point.yaml").read_text())
    assert py["concurrency"] == 33 and py["offline"] == "elected" and py["seed_set"] == "A"
    assert py["runtime_settings"]["runtime"]["sample_index_rng_seed"] == lg["seeds"]["sample_index_rng_seed"]
    assert py["runtime_settings"]["runtime"]["scheduler_rng_seed"] == lg["seeds"]["schedule_rng_seed"]
    assert "NOT an official MLPerf Endpoints result" in py["model_notes"]
    assert (point / "accuracy_results.json").is_file()
    check = cmx(fhome, "run", "script", CHECK, f"--input={tmp_path / 'FlexBench'}", "--fail_on_reject=no", "-j")
    assert check.code == 0, check.err[-3000:]
    verdict = check.json["new_state"]["endpoints_check"]
    assert verdict["passed"] is False and any("[point-count]" in e for e in verdict["errors"])


@pytest.mark.slow
def test_short_sweep_passes_the_official_checker_and_six_points_do_not(fhome, tmp_path):
    """Seven concurrency points (1..64) with accuracy, against a streaming server on 127.0.0.1."""
    with SSEServer(tokens=8, ttft_s=0.005, delay_s=0.002) as server:
        sweep = cmx(fhome, "run", "experiment", "--tags=run,flexbench,_openai,_all", f"--api_base={server.url}",
                    "--api_model=test", "--samples=40", "--performance_sample_count=128", "--min_query_count=128",
                    "--max_output_tokens=8", "--endpoints_seed_set=A", "--explore.concurrency=1,2,4,...,64",
                    "--pareto", f"--experiment_dir={tmp_path / 'sweep'}", "-j")
        assert sweep.code == 0, sweep.err[-3000:]
    gen = cmx(fhome, "run", "script", GEN, f"--experiment={tmp_path / 'sweep'}", "--model_name=kimi-k3",
              f"--out_dir={tmp_path / 'tree'}", "-j")
    assert gen.code == 0, gen.err[-3000:]
    check = cmx(fhome, "run", "script", CHECK + ",_viz", f"--input={tmp_path / 'tree' / 'FlexBench'}", "-j")
    assert check.code == 0, check.err[-3000:]
    verdict = check.json["new_state"]["endpoints_check"]
    assert verdict["passed"] is True and verdict["errors"] == []
    # what remains are warnings a short sweep cannot avoid: run length, steady state, no accuracy gate for the label
    assert {w.split("]")[0] + "]" for w in verdict["warnings"]} <= {"[point-duration]", "[steady-state-basis]",
                                                                     "[accuracy-gate]"}
    viz = json.loads(Path(check.json["new_env"]["CMX_ENDPOINTS_CHECK_VIZ_EXPORT"]).read_text())
    assert viz["submissions"]
    six = [p["result_json"] for p in sweep.json["points"] if p["inputs"]["concurrency"] != "16"]
    gen6 = cmx(fhome, "run", "script", GEN, f"--results={','.join(six)}", "--model_name=kimi-k3",
               f"--out_dir={tmp_path / 'six'}", "-j")
    assert gen6.code == 0, gen6.err[-3000:]
    rejected = cmx(fhome, "run", "script", CHECK, f"--input={tmp_path / 'six' / 'FlexBench'}", "-j")
    assert rejected.code == 1 and "[point-count]" in rejected.err
