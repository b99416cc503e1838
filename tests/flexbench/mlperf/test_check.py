"""Our v6.1 checker on trees built from real short LoadGen runs (FlexBench, no-op backend).

The base tree is exactly what a short run gives; it breaks a known set of rules. The
*compliant* tree is the same run with the values a full-length, full-dataset run logs
written into its logs; it passes. Every other test changes one thing of the compliant
tree and asserts the exact set of rules that then fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from flexbench.mlperf import rules
from flexbench.mlperf.check import check_submission
from flexbench.mlperf.check import summary_csv
from flexbench.mlperf.errors import TreeError
from tests.flexbench.mlperf import checktrees as ct

PERF = "performance/run_1/mlperf_log_detail.txt"
ACC = "accuracy/mlperf_log_detail.txt"


def errors(root: Path) -> set[str]:
    report = check_submission(root)
    return {f.rule for r in report.results for f in r.errors}


def build(tmp: Path, kind: str, *, compliant: bool, division: str = "open", benchmark: str = "llama3.1-8b") -> Path:
    res = ct.add_result(tmp, ct.real_run(kind), division=division, benchmark=benchmark,
                        scenario="Offline" if kind == "offline" else "Server")
    if compliant:
        ct.make_compliant(res)
        ct.set_log_value(res / PERF, "effective_sample_concatenate_permutation", True)
    return res


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    return build(tmp_path / "tree", "offline", compliant=True)


@pytest.fixture
def server(tmp_path: Path) -> Path:
    return build(tmp_path / "tree", "server", compliant=True)


def tree_of(result: Path) -> Path:
    return result.parents[5]


def system_file(result: Path) -> Path:
    return result.parents[3] / "systems" / f"{result.parents[1].name}.json"


def edit_system(result: Path, **fields: object) -> None:
    p = system_file(result)
    desc = json.loads(p.read_text())
    for k, v in fields.items():
        if v is None:
            desc.pop(k, None)
        else:
            desc[k] = v
    p.write_text(json.dumps(desc))


def test_short_real_run_fails_exactly_the_length_and_dataset_rules(tmp_path):
    res = build(tmp_path / "tree", "offline", compliant=False)
    report = check_submission(tree_of(res))
    (r,) = report.results
    assert {f.rule for f in r.errors} == {"perf.min_duration", "perf.performance_sample_count",
                                          "perf.offline_samples_per_query", "perf.equal_issue", "acc.dataset_size"}
    # open division: a missed accuracy target is a warning, as in MLPerf's checkers
    assert {f.rule for f in r.warnings} == {"acc.target"}
    md = next(f for f in r.errors if f.rule == "perf.min_duration")
    assert md.found == 0 and "600000" in md.required and md.path.endswith(PERF)
    assert not report.passed and r.metric and r.metric > 0


def test_compliant_tree_passes_and_gives_a_summary_row(offline):
    report = check_submission(tree_of(offline))
    (r,) = report.results
    assert report.passed and r.passed and r.errors == ()
    row = r.csv_row
    assert row is not None and row["MlperfModel"] == "llama3.1-8b" and row["Units"] == "Tokens/s"
    assert row["Scenario"] == "Offline" and float(row["Result"]) > 0 and "ROUGE1" in row["Accuracy"]
    text = summary_csv.render([row])
    assert text.splitlines()[0].split(",") == list(summary_csv.COLUMNS)


def test_compliant_server_tree_passes(server):
    assert errors(tree_of(server)) == set()


def _perf(key, value):
    return lambda res: ct.set_log_value(res / PERF, key, value)


def _remove(rel):
    return lambda res: (res / rel).unlink()


MUTATIONS: dict[str, tuple[str, Callable[[Path], None], set[str]]] = {
    "wrong seed": ("offline", _perf("effective_qsl_rng_seed", 1), {"perf.seeds"}),
    "wrong schedule seed": ("server", _perf("effective_schedule_rng_seed", 42), {"perf.seeds"}),
    "min_duration below 600 s": ("offline", _perf("effective_min_duration_ms", 599999), {"perf.min_duration"}),
    "too few queries": ("offline", _perf("effective_min_query_count", 0), {"perf.min_query_count"}),
    "INVALID result": ("offline", _perf("result_validity", "INVALID"), {"perf.result_invalid"}),
    "early stopping not met": ("server", _perf("early_stopping_met", False), {"perf.early_stopping"}),
    "small performance sample count": ("offline", _perf("effective_performance_sample_count", 13367),
                                       {"perf.performance_sample_count"}),
    "Offline query too small": ("offline", _perf("effective_samples_per_query", 100), {"perf.offline_samples_per_query"}),
    "no equal issue mode": ("offline", _perf("effective_sample_concatenate_permutation", False), {"perf.equal_issue"}),
    "Server latency constraint": ("server", _perf("effective_target_latency_ns", 20_000_000_001), {"perf.latency"}),
    "TTFT over the limit": ("server", _perf("result_first_token_99.00_percentile_latency_ns", 2_000_000_000),
                            {"perf.ttft"}),
    "TPOT over the limit": ("server", _perf("result_time_per_output_token_99.00_percentile_ns", 100_000_001),
                            {"perf.tpot"}),
    "token latencies off": ("server", _perf("requested_use_token_latencies", False), {"perf.token_latencies"}),
    "LoadGen error in the performance log": ("offline", lambda r: ct.add_loadgen_error(r / PERF, "Test failed"),
                                             {"perf.loadgen_errors"}),
    "LoadGen error in the accuracy log": ("offline", lambda r: ct.add_loadgen_error(r / ACC, "Test failed"),
                                          {"acc.loadgen_errors"}),
    "accuracy run short of the dataset": ("offline", lambda r: ct.set_log_value(r / ACC, "effective_accuracy_sample_count", 13000),
                                          {"acc.dataset_size"}),
    "missing user.conf": ("offline", _remove("user.conf"), {"files.missing"}),
    "empty README.md": ("offline", lambda r: (r / "README.md").write_text(""), {"files.empty"}),
    "missing performance summary": ("offline", _remove("performance/run_1/mlperf_log_summary.txt"), {"files.missing"}),
    "missing accuracy log": ("offline", _remove("accuracy/mlperf_log_accuracy.json"), {"files.missing"}),
    "extra file in the performance folder": ("offline", lambda r: (r / "performance/run_1/run_info.json").write_text("{}"),
                                             {"files.extra"}),
    "oversized accuracy log": ("offline", lambda r: (r / "accuracy/mlperf_log_accuracy.json").write_text(
        "[" + " " * rules.MAX_ACCURACY_LOG_BYTES + "]"), {"acc.log_size"}),
    "measurements field missing": ("offline", lambda r: (r / "measurements.json").write_text(
        json.dumps({k: v for k, v in ct.MEASUREMENTS.items() if k != "retraining"})), {"measurements.field_missing"}),
    "system field missing": ("offline", lambda r: edit_system(r, host_processor_model_name=None),
                             {"system.field_missing"}),
    "system field empty": ("offline", lambda r: edit_system(r, framework=""), {"system.field_empty"}),
    "bad status": ("offline", lambda r: edit_system(r, status="released"), {"system.status"}),
    "bad system_type": ("offline", lambda r: edit_system(r, system_type="cloud"), {"system.system_type"}),
    "benchmark not allowed for the system_type": ("offline", lambda r: edit_system(r, system_type="edge"),
                                                  {"benchmark.system_type"}),
    "submitter differs from the folder": ("offline", lambda r: edit_system(r, submitter="Other"), {"system.submitter"}),
    "division differs from the folder": ("offline", lambda r: edit_system(r, division="closed"), {"system.division"}),
    "missing system description": ("offline", lambda r: system_file(r).unlink(),
                                   {"system.missing", "structure.empty_dir"}),  # systems/ is left empty
    "missing src folder": ("offline", lambda r: shutil.rmtree(r.parents[3] / "src"), {"structure.src"}),
    "empty folder": ("offline", lambda r: (r / "performance" / "ranging").mkdir(), {"structure.empty_dir"}),
    "hidden file": ("offline", lambda r: (r / ".DS_Store").write_text("x"), {"structure.name"}),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_rule_has_a_failing_case(name, tmp_path):
    kind, mutate, expected = MUTATIONS[name]
    res = build(tmp_path / "tree", kind, compliant=True)
    assert errors(tree_of(res)) == set(), "the compliant tree must pass before the change"
    mutate(res)
    assert errors(tree_of(res)) == expected


def test_found_and_required_values_are_reported(server):
    ct.set_log_value(server / PERF, "result_first_token_99.00_percentile_latency_ns", 2_500_000_000)
    (r,) = check_submission(tree_of(server)).results
    (f,) = r.errors
    assert f.rule == "perf.ttft" and f.found == 2.5e9 and f.required == "< 2000000000 ns"
    assert f.path == "open/FlexBench/results/cpu-noop/llama3.1-8b/Server/" + PERF


def test_missing_hash_line_warns_in_open_and_fails_in_closed(tmp_path):
    for division in ("open", "closed"):
        res = build(tmp_path / division, "offline", compliant=True, division=division)
        acc = res / "accuracy" / "accuracy.txt"
        acc.write_text("".join(ln for ln in acc.read_text().splitlines(keepends=True) if not ln.startswith("hash=")))
        (r,) = check_submission(tree_of(res)).results
        hash_findings = [f for f in r.findings if f.rule == "acc.hash"]
        assert len(hash_findings) == 1
        assert hash_findings[0].severity == ("warning" if division == "open" else "error")


def test_closed_division_needs_targets_scenarios_calibration_and_compliance(tmp_path):
    res = build(tmp_path / "tree", "offline", compliant=True, division="closed")
    got = errors(tree_of(res))
    # noop answers are empty, so ROUGE misses the target: an error in closed
    assert {"acc.target", "scenario.missing", "structure.calibration", "compliance.missing"} <= got


def test_skip_dataset_size_check(tmp_path):
    res = build(tmp_path / "tree", "offline", compliant=True)
    ct.set_log_value(res / ACC, "effective_accuracy_sample_count", 16)
    assert errors(tree_of(res)) == {"acc.dataset_size"}
    assert check_submission(tree_of(res), skip_dataset_size_check=True).passed


def test_open_division_model_mapping(tmp_path):
    res = build(tmp_path / "tree", "offline", compliant=True, benchmark="smollm2-135m")
    root = tree_of(res)
    assert errors(root) == {"benchmark.unknown"}
    (res.parents[3] / "model_mapping.json").write_text(json.dumps({"smollm2-135m": "llama3.1-8b"}))
    report = check_submission(root)
    assert report.passed and report.results[0].mlperf_model == "llama3.1-8b"


def test_not_a_submission_tree_is_a_clear_error(tmp_path):
    with pytest.raises(TreeError, match="no division folder"):
        check_submission(tmp_path)
    with pytest.raises(TreeError, match="not a folder"):
        check_submission(tmp_path / "nope")
