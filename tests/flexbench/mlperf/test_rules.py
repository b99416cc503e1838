"""flexbench.mlperf.rules: the v6.1 data and its API.

The data must equal the official checker's ``constants.py`` (MODEL_CONFIG["v6.1"] and the
module tables) at the mirror's HEAD; that part skips without the mirror."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from flexbench.mlperf import rules
from flexbench.mlperf.errors import SubmissionError, UnknownValueError
from tests.flexbench.mlperf import checktrees as ct

LLM_V61 = ("llama3.1-8b", "llama3.1-8b-edge", "llama2-70b-99.9", "deepseek-r1", "gpt-oss-120b")


def test_round_and_seeds():
    assert rules.ROUND == "v6.1" and rules.MIN_DURATION_MS == 600000
    # what mlcommons-loadgen 6.0.17 embeds in its mlperf.conf
    assert dict(rules.SEEDS) == {"qsl_rng_seed": 2085463073848966840,
                                 "sample_index_rng_seed": 2747215439041700203,
                                 "schedule_rng_seed": 16159082839903944936}
    assert rules.MAX_ACCURACY_LOG_BYTES == 10240


def test_benchmark_api():
    b = rules.benchmark("llama3.1-8b")
    assert b.is_llm and b.dataset_size == 13368 and b.performance_sample_count == 13368
    assert b.required_scenarios("datacenter") == ("Offline",)
    assert set(b.optional_scenarios("datacenter")) == {"Server", "Interactive"}
    assert b.llm_latency_limits["Interactive"] == (500_000_000, 30_000_000)
    assert b.min_queries["Server"] == 270336 and b.latency_constraint_ns["Server"] == 20_000_000_000
    assert dict(b.accuracy_targets)["ROUGE1"] == pytest.approx(38.7792 * 0.99)
    assert dict(b.accuracy_upper_limits)["GEN_LEN"] == pytest.approx(8167644 * 1.1)
    assert b.result_field("Offline") == "result_tokens_per_second"
    assert rules.benchmark("llama3_1-8b") is b  # the checker's alias
    assert "llama3.1-8b" not in rules.benchmarks_for("edge")
    assert "llama3.1-8b-edge" in rules.benchmarks_for("edge,datacenter")
    for name in LLM_V61:
        assert rules.benchmark(name).is_llm
    q = rules.benchmark("qwen3-vl-235b-a22b")
    assert q.targets_for("interactive")[0][1] == pytest.approx(0.7878 * 0.99)
    assert q.accuracy_samples_for("Interactive") == 8000


def test_errors_name_the_value_the_choices_and_the_nearest():
    with pytest.raises(UnknownValueError) as exc:
        rules.benchmark("llama3.1-7b")
    msg = str(exc.value)
    assert "'llama3.1-7b'" in msg and "gpt-oss-120b" in msg and "did you mean 'llama3.1-8b'" in msg
    assert isinstance(exc.value, SubmissionError)
    with pytest.raises(SubmissionError, match="did you mean 'Offline'"):
        rules.canonical_scenario("ofline")
    assert rules.canonical_scenario("offline") == "Offline"
    with pytest.raises(SubmissionError, match="system_type"):
        rules.benchmarks_for("cloud")
    with pytest.raises(SubmissionError, match="status"):
        rules.check_status("released")


def test_frozen():
    b = rules.benchmark("resnet")
    with pytest.raises(AttributeError):
        b.dataset_size = 1  # type: ignore[misc]


def _official_constants() -> dict[str, Any]:
    text = subprocess.run(["git", "--git-dir", str(ct.MIRROR), "show",
                           "HEAD:tools/submission/submission_checker/constants.py"],
                          capture_output=True, text=True, check=True).stdout
    ns: dict[str, Any] = {}
    exec(compile(text, "constants.py", "exec"), ns)  # a data-only module
    return ns


@pytest.mark.skipif(not ct.mirror_available(), reason=ct.MIRROR_SKIP)
def test_data_equals_the_official_constants():
    c = _official_constants()
    cfg = c["MODEL_CONFIG"]["v6.1"]
    assert set(rules.BENCHMARKS) == set(cfg["models"])
    assert dict(rules.SEEDS) == cfg["seeds"]
    assert rules.MAX_ACCURACY_LOG_BYTES == c["MAX_ACCURACY_LOG_SIZE"]
    assert rules.MIN_DURATION_MS == c["TEST_DURATION_MS"]
    assert list(rules.SYSTEM_DESC_REQUIRED_FIELDS) == c["SYSTEM_DESC_REQUIRED_FIELDS"]
    assert list(rules.SYSTEM_DESC_MEANINGFUL_FIELDS) == c["SYSTEM_DESC_MEANINGFUL_RESPONSE_REQUIRED_FIELDS"]
    assert list(rules.MEASUREMENTS_REQUIRED_FIELDS) == c["SYSTEM_IMP_REQUIRED_FILES"]
    assert list(rules.REQUIRED_ACC_FILES) == c["REQUIRED_ACC_FILES"]
    assert list(rules.REQUIRED_PERF_FILES) == c["REQUIRED_PERF_FILES"]
    assert list(rules.REQUIRED_MEASURE_FILES) == c["REQUIRED_MEASURE_FILES"]
    assert list(rules.REQUIRED_POWER_FILES) == c["REQUIRED_POWER_FILES"]
    assert list(rules.STATUSES) == c["VALID_AVAILABILITIES"]
    for name in rules.BENCHMARKS:
        b = rules.benchmark(name)
        assert b.dataset_size == cfg["dataset-size"][name]
        assert b.performance_sample_count == cfg["performance-sample-count"][name]
        assert dict(b.min_queries) == cfg["min-queries"].get(name, {})
        assert dict(b.latency_constraint_ns) == cfg["latency-constraint"].get(name, {})
        assert b.offline_min_samples_per_query == c["OFFLINE_MIN_SPQ_SINCE_V4"].get(name, c["OFFLINE_MIN_SPQ"])
        target = cfg["accuracy-target"][name]
        for scen in ("Offline", "Server", "Interactive"):
            want = target[scen] if isinstance(target, dict) else target
            got = b.targets_for(scen)
            assert [m for m, _ in got] == list(want[0::2]) and [v for _, v in got] == pytest.approx(list(want[1::2]))
        upper = cfg["accuracy-upper-limit"].get(name, ())
        assert [m for m, _ in b.accuracy_upper_limits] == list(upper[0::2])
        assert [v for _, v in b.accuracy_upper_limits] == pytest.approx(list(upper[1::2]))
        for m, _ in b.accuracy_targets + b.accuracy_upper_limits:
            assert rules.ACCURACY_PATTERNS[m] == c["ACC_PATTERN"][m]
        asc = cfg["accuracy-sample-count"].get(name, cfg["dataset-size"][name])
        assert b.accuracy_samples_for("Offline") == (asc["Offline"] if isinstance(asc, dict) else asc)
        limits = c["LLM_LATENCY_LIMITS"].get(name, {}) if name in LLM_V61 else {}
        assert dict(b.llm_latency_limits) == {s: (v["ttft"], v["tpot"]) for s, v in limits.items()}
        for st, suffix in (("datacenter", "datacenter"), ("edge", "edge"), ("datacenter,edge", "datacenter-edge")):
            assert list(b.required_scenarios(st)) == cfg[f"required-scenarios-{suffix}"].get(name, [])
            assert list(b.optional_scenarios(st)) == cfg[f"optional-scenarios-{suffix}"].get(name, [])
    for st, suffix in (("datacenter", "datacenter"), ("edge", "edge"), ("datacenter,edge", "datacenter-edge")):
        assert set(rules.benchmarks_for(st)) == (set(cfg[f"required-scenarios-{suffix}"])
                                                 | set(cfg[f"optional-scenarios-{suffix}"]))
