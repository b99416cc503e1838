"""Build small v6.1 submission trees from real LoadGen run folders, and mutate them.

A *run folder* is what FlexBench writes (``performance/`` and ``accuracy/`` with
LoadGen's logs, ``user.conf``). ``build_tree`` lays it out the way MLPerf's
checker reads it. The ``set_log_value`` / ``rewrite_*`` helpers edit one value of
a real log in place, so a test changes exactly one thing about a real run.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from flexbench.mlperf import rules
from tests.conftest import FLEXBENCH_HOME, run_cmx

# The FlexBench venv (LoadGen 6.0.17) is built once per machine into this shared home,
# as for tests/scripts/test_flexbench.py.
FLEXBENCH_HOME = FLEXBENCH_HOME
# A git dir (bare mirror or .git) of mlcommons/inference, for the tests that compare with MLPerf's own
# checker; they are skipped without it (MIRROR_SKIP says which variable to set).
MIRROR = Path(os.environ.get("CMX_TEST_INFERENCE_MIRROR") or "cmx-test-inference-mirror-not-set")
MIRROR_SKIP = ("set CMX_TEST_INFERENCE_MIRROR to a git dir of mlcommons/inference (a bare mirror or a .git folder) "
               "to compare with MLPerf's own checker")

# Real short LoadGen runs with the instant no-op backend (seconds each). The Server run
# issues enough queries for LoadGen's early stopping to be met.
RUNS = {
    "offline": ("--tags=run,flexbench,_noop,_offline", "--samples=16"),
    "server": ("--tags=run,flexbench,_noop,_server", "--samples=32", "--min_query_count=500", "--target_qps=400"),
}


@functools.cache
def real_run(kind: str) -> Path:
    """The output folder of a real FlexBench/LoadGen run (performance + accuracy)."""
    FLEXBENCH_HOME.mkdir(parents=True, exist_ok=True)
    res = run_cmx("run", "script", *RUNS[kind], "-j", "--quiet", home=FLEXBENCH_HOME, timeout=1800)
    assert res.code == 0, res.err[-3000:]
    return Path(res.json["new_env"]["CMX_FLEXBENCH_OUT_DIR"])


def mirror_available() -> bool:
    if not os.environ.get("CMX_TEST_INFERENCE_MIRROR") or not (MIRROR / "HEAD").is_file():
        return False
    probe = subprocess.run(["git", "--git-dir", str(MIRROR), "cat-file", "-e",
                            "HEAD:tools/submission/submission_checker/main.py"], capture_output=True)
    return probe.returncode == 0

SYSTEM = "cpu-noop"
SUBMITTER = "FlexBench"


def system_json(division: str, submitter: str = SUBMITTER, system_type: str = "datacenter") -> dict[str, Any]:
    desc = {k: "N/A" for k in rules.SYSTEM_DESC_REQUIRED_FIELDS}
    desc.update(
        division=division,
        submitter=submitter,
        status="available",
        system_type=system_type,
        system_name="A CPU test machine",
        number_of_nodes="1",
        host_processors_per_node="1",
        host_processor_core_count="2",
        accelerators_per_node="0",
        accelerator_model_name="N/A",
        framework="FlexBench noop",
        operating_system="Linux",
        hw_notes="",
        sw_notes="",
    )
    return desc


MEASUREMENTS = {
    "input_data_types": "int32",
    "retraining": "no",
    "starting_weights_filename": "N/A",
    "weight_data_types": "fp32",
    "weight_transformations": "none",
}


def add_result(root: Path, run_dir: Path, *, division: str = "open", submitter: str = SUBMITTER,
               system: str = SYSTEM, benchmark: str = "llama3.1-8b", scenario: str = "Offline",
               accuracy_dir: Path | None = None) -> Path:
    """Copy one run into ``root`` as the result ``benchmark/scenario``; returns its folder."""
    sub = root / division / submitter
    res = sub / "results" / system / benchmark / scenario
    perf = res / "performance" / "run_1"
    perf.mkdir(parents=True, exist_ok=True)
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
        shutil.copy(run_dir / "performance" / name, perf / name)
    acc_src = accuracy_dir or run_dir / "accuracy"
    acc = res / "accuracy"
    acc.mkdir(parents=True, exist_ok=True)
    for name in rules.REQUIRED_ACC_FILES:
        shutil.copy(acc_src / name, acc / name)
    shutil.copy(run_dir / "user.conf", res / "user.conf")
    (res / "README.md").write_text(f"# {benchmark} {scenario}\n\nA short FlexBench run for tests.\n")
    (res / "measurements.json").write_text(json.dumps(MEASUREMENTS, indent=2))
    (sub / "systems").mkdir(parents=True, exist_ok=True)
    sys_file = sub / "systems" / f"{system}.json"
    if not sys_file.exists():
        sys_file.write_text(json.dumps(system_json(division, submitter), indent=2))
    (sub / "src").mkdir(exist_ok=True)
    (sub / "src" / "README.md").write_text("FlexBench: see https://github.com/mlcommons/ck\n")
    return res


def set_log_value(log: Path, key: str, value: Any, *, error: bool | None = None) -> None:
    """Set every ``:::MLLOG`` record with ``key`` to ``value`` (added if absent)."""
    lines = log.read_text().splitlines()
    out: list[str] = []
    found = False
    for line in lines:
        if line.startswith(":::MLLOG"):
            rec = json.loads(line[len(":::MLLOG"):])
            if rec.get("key") == key:
                rec["value"] = value
                if error is not None:
                    rec["metadata"]["is_error"] = error
                line = ":::MLLOG " + json.dumps(rec)
                found = True
        out.append(line)
    if not found:
        template = json.loads(next(ln for ln in lines if ln.startswith(":::MLLOG"))[len(":::MLLOG"):])
        template.update(key=key, value=value)
        template["metadata"] = {"is_error": bool(error), "is_warning": False,
                                "file": "loadgen.cc", "line_no": 0, "pid": 0, "tid": 0}
        out.append(":::MLLOG " + json.dumps(template))
    log.write_text("\n".join(out) + "\n")


def add_loadgen_error(log: Path, message: str) -> None:
    """Append an error record as LoadGen logs it, and count it in ``num_errors`` as LoadGen does."""
    lines = log.read_text().splitlines()
    template = json.loads(next(ln for ln in lines if ln.startswith(":::MLLOG"))[len(":::MLLOG"):])
    template.update(key="error_runtime", value=message)
    template["metadata"] = {"is_error": True, "is_warning": False, "file": "loadgen.cc", "line_no": 1,
                            "pid": 0, "tid": 0}
    lines.append(":::MLLOG " + json.dumps(template))
    log.write_text("\n".join(lines) + "\n")
    count = sum(1 for ln in lines if ln.startswith(":::MLLOG") and '"is_error": true' in ln)
    set_log_value(log, "num_errors", count)


# The values a real full-length, full-dataset run of the benchmark would log:
# writing them into a short run's logs gives a tree every checker should accept.
def make_compliant(result_dir: Path, benchmark: str = "llama3.1-8b") -> None:
    bench = rules.benchmark(benchmark)
    perf = result_dir / "performance" / "run_1" / "mlperf_log_detail.txt"
    set_log_value(perf, "effective_min_duration_ms", rules.MIN_DURATION_MS)
    set_log_value(perf, "effective_performance_sample_count", bench.performance_sample_count)
    set_log_value(perf, "effective_samples_per_query", bench.offline_min_samples_per_query)
    acc = result_dir / "accuracy" / "mlperf_log_detail.txt"
    set_log_value(acc, "qsl_reported_total_count", bench.dataset_size)
    set_log_value(acc, "effective_accuracy_sample_count", bench.accuracy_sample_count)
