"""run-mlperf-flexbench: benchmark run(s) -> power -> submission tree -> check, in one command.

Every step is another recipe, called through ``i['cmx'].run`` so each records its own provenance:
``run,flexbench`` (one performance + accuracy run per scenario), optionally wrapped by
``collect,power``, then ``generate,mlperf,submission`` and ``check,mlperf,submission``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCENARIOS = ("offline", "server", "singlestream", "multistream")
MIN_DURATION_MS = 600_000          # MLPerf's rule for every scenario (checked again by the checker)
CALIBRATION_MARGIN = {"offline": 1.25, "server": 0.5}  # target_qps from a short measured run


# inputs of collect,power that this flow sets itself (the workload) and cmx's own run() arguments
_POWER_ARGS_RESERVED = ("tags", "quiet", "workload_tags", "workload_args", "command")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class FlowError(Exception):
    pass


def power_args(text: str | None) -> dict[str, str]:
    """--power_args: a JSON object of extra collect,power inputs ({"tdp_w": 200})."""
    if not (text or "").strip():
        return {}
    try:
        value = json.loads(str(text))
    except ValueError as exc:
        raise FlowError(f"--power_args is not JSON ({exc.msg}); give an object such as '{{\"tdp_w\": 200}}'") from None
    if not isinstance(value, dict):
        raise FlowError(f"--power_args must be a JSON object, got {type(value).__name__}")
    out: dict[str, str] = {}
    for key, val in value.items():
        if not _INPUT_NAME.match(key) or key in _POWER_ARGS_RESERVED:
            raise FlowError(f"--power_args: {key!r} is not an input collect,power takes from here")
        if isinstance(val, (dict, list)) or val is None:
            raise FlowError(f"--power_args: {key} must be a string or a number")
        out[key] = str(val).lower() if isinstance(val, bool) else str(val)
    return out


def _quiet(i: dict[str, Any]) -> bool:
    return bool(getattr(i["cmx"], "quiet", False))


def _say(i: dict[str, Any], text: str) -> None:
    """A progress or report line (stderr: a hook's stdout goes there), unless the command is quiet (-q)."""
    if not _quiet(i):
        print(text, flush=True)


def steps(env: dict[str, str], scenarios: list[str]) -> list[str]:
    """What the flow runs, in order (printed when it starts; the dry run shows what they need)."""
    out = []
    full = env.get("CMX_MLPERF_SHORT") != "yes"
    for s in scenarios:
        if full and s in CALIBRATION_MARGIN and not env.get("CMX_MLPERF_TARGET_QPS"):
            out.append(f"calibration run ({s}): a short measured run for the target QPS")
        what = f"{s} run: performance + accuracy" + (f", min_duration {MIN_DURATION_MS // 1000} s" if full else "")
        if env.get("CMX_MLPERF_POWER"):
            what += f", under collect,power,_{env['CMX_MLPERF_POWER']}"
        out.append(what)
    out.append("packaging: generate,mlperf,submission")
    out.append("checking: check,mlperf,submission" + (" (and MLPerf's checkers)" if env.get("CMX_MLPERF_OFFICIAL") == "yes" else ""))
    return out


class _Progress:
    def __init__(self, i: dict[str, Any], plan: list[str]) -> None:
        self.i, self.plan, self.n = i, plan, 0

    def start(self) -> None:
        _say(self.i, "run-mlperf-flexbench: " + str(len(self.plan)) + " steps:\n"
             + "\n".join(f"  {k}. {s}" for k, s in enumerate(self.plan, 1)))

    def step(self, what: str) -> None:
        self.n += 1
        _say(self.i, f"[flow {min(self.n, len(self.plan))}/{len(self.plan)}] {what}")


def _call(i: dict[str, Any], what: str, tags: str, **inputs: Any) -> dict[str, Any]:
    progress = i.get("_flow_progress")
    if progress is not None:
        progress.step(what)
    res = i["cmx"].run(tags=tags, **inputs)  # quiet when the command is (-q); else its own progress lines
    if res.get("return", 1) != 0:
        raise FlowError(f"{what} failed: {res.get('error', 'unknown error')}")
    return res


def _flexbench_tags(env: dict[str, str], scenario: str, mode: str) -> str:
    tags = ["run", "flexbench", f"_{scenario}", f"_{mode}", f"_{env['CMX_MLPERF_FB_BACKEND']}",
            f"_{env['CMX_MLPERF_FB_MODEL']}", f"_{env['CMX_MLPERF_FB_DATASET']}"]
    return ",".join(tags)


def _benchmark_rules(name: str) -> Any:
    from flexbench.mlperf import rules

    return rules.benchmark(name)


def conf_model(benchmark: str) -> str:
    """The benchmark's key in LoadGen's mlperf.conf: no accuracy suffix, dots as underscores
    (llama3.1-8b -> llama3_1-8b, llama2-70b-99.9 -> llama2-70b), so the round's settings apply."""
    for suffix in ("-99.9", "-99"):
        if benchmark.endswith(suffix):
            benchmark = benchmark[: -len(suffix)]
            break
    return benchmark.replace(".", "_")


def _flexbench_inputs(env: dict[str, str]) -> dict[str, str]:
    out = {"samples": env["CMX_MLPERF_SAMPLES_RESOLVED"], "max_output_tokens": env["CMX_MLPERF_MAX_OUTPUT_TOKENS"],
           "batch_size": env["CMX_MLPERF_BATCH_SIZE"], "conf_model": conf_model(env["CMX_MLPERF_BENCHMARK"])}
    for key, name in (("CMX_MLPERF_DATASET_FILE", "dataset_path"), ("CMX_MLPERF_API_BASE", "api_base"),
                      ("CMX_MLPERF_API_MODEL", "api_model")):
        if env.get(key):
            out[name] = env[key]
    return out


def _calibrate(i: dict[str, Any], env: dict[str, str], scenario: str, run_dir: Path) -> float:
    """A short measured performance run; the full run's target QPS is derived from its samples/s."""
    res = _call(i, f"calibration run ({scenario})", _flexbench_tags(env, "offline", "performance"),
                **{**_flexbench_inputs(env), "out_dir": str(run_dir / f"calibration-{scenario}")})
    sps = float(res["new_env"].get("CMX_FLEXBENCH_SAMPLES_PER_SECOND") or 0)
    if sps <= 0:
        raise FlowError(f"calibration run ({scenario}) measured no throughput")
    return round(sps * CALIBRATION_MARGIN.get(scenario, 1.0), 4)


def _run_inputs(i: dict[str, Any], env: dict[str, str], scenario: str, run_dir: Path) -> dict[str, str]:
    inputs = _flexbench_inputs(env)
    inputs["out_dir"] = str(run_dir / f"flexbench-{scenario}")
    if env.get("CMX_MLPERF_SHORT") == "yes":
        inputs["min_duration_ms"] = env["CMX_MLPERF_SHORT_DURATION_MS"]
        if env.get("CMX_MLPERF_TARGET_QPS"):
            inputs["target_qps"] = env["CMX_MLPERF_TARGET_QPS"]
        return inputs
    bench = _benchmark_rules(env["CMX_MLPERF_BENCHMARK"])
    canonical = {"offline": "Offline", "server": "Server", "singlestream": "SingleStream",
                 "multistream": "MultiStream"}[scenario]
    inputs["min_duration_ms"] = str(MIN_DURATION_MS)
    inputs["performance_sample_count"] = str(bench.performance_sample_count)
    min_queries = bench.min_queries.get(canonical, 1)
    if scenario == "offline":
        # LoadGen's one Offline query holds max(min_query_count, 1.1 x min_duration x target_qps)
        # samples (then, in equal-issue mode, a multiple of performance_sample_count); MLPerf's original
        # checker wants at least the benchmark's minimum (13,368 for llama3.1-8b) in every division.
        min_queries = max(min_queries, bench.offline_min_samples_per_query)
    inputs["min_query_count"] = str(min_queries)
    if canonical in bench.llm_latency_limits:  # the round's TTFT/TPOT limits, not FlexBench's defaults
        ttft_ns, tpot_ns = bench.llm_latency_limits[canonical]
        inputs["ttft_latency_ms"], inputs["tpot_latency_ms"] = str(ttft_ns // 1_000_000), str(tpot_ns // 1_000_000)
    if scenario in CALIBRATION_MARGIN:
        qps = float(env.get("CMX_MLPERF_TARGET_QPS") or _calibrate(i, env, scenario, run_dir))
        inputs["target_qps"] = str(round(qps, 4))
    return inputs


def _benchmark_run(i: dict[str, Any], env: dict[str, str], scenario: str, run_dir: Path) -> Path:
    """One performance + accuracy run of a scenario (wrapped by collect,power when asked)."""
    inputs = _run_inputs(i, env, scenario, run_dir)
    tags = _flexbench_tags(env, scenario, "all")
    power = env.get("CMX_MLPERF_POWER")
    if not power:
        res = _call(i, f"FlexBench {scenario} run", tags, **inputs)
        return Path(res["new_env"]["CMX_FLEXBENCH_OUT_DIR"])
    res = _call(i, f"power collection around the {scenario} run", f"collect,power,_{power}",
                workload_tags=tags, workload_args=json.dumps([f"--{k}={v}" for k, v in inputs.items()]),
                **power_args(env.get("CMX_MLPERF_POWER_ARGS")))
    for key, value in res["new_env"].items():
        if key.startswith("CMX_POWER_"):
            env[key.replace("CMX_POWER_", "CMX_MLPERF_POWER_", 1)] = value
    return Path(inputs["out_dir"])


def validate_inputs(env: dict[str, str]) -> tuple[list[str], Any]:
    """The scenarios and the benchmark's rules, or FlowError, before any run (the planner has checked
    each input's own value; these depend on each other). Sets the benchmark the system type implies."""
    from flexbench.mlperf import rules
    from flexbench.mlperf.errors import SubmissionError
    from flexbench.mlperf.package import DEFAULT_BENCHMARK

    scenarios = [s.strip().lower() for s in env["CMX_MLPERF_SCENARIOS"].split(",") if s.strip()]
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad or not scenarios:
        raise FlowError(f"--scenarios: unknown scenario {bad[0] if bad else '(none)'} (known: {', '.join(SCENARIOS)})")
    try:
        system_type = rules.canonical_system_type(env["CMX_MLPERF_SYSTEM_TYPE"])
        division = rules.check_division(env["CMX_MLPERF_DIVISION"])
        rules.check_status(env["CMX_MLPERF_STATUS"])
        name = env.get("CMX_MLPERF_BENCHMARK") or DEFAULT_BENCHMARK[system_type]
        bench = _benchmark_rules(name)
    except SubmissionError as exc:
        raise FlowError(str(exc)) from None
    allowed = rules.benchmarks_for(system_type)
    if bench.name not in allowed:
        raise FlowError(f"--benchmark={name} is not allowed for --system_type={system_type}; allowed: {', '.join(allowed)}")
    if division != "open":  # the closed and network divisions take only the benchmark's scenarios
        known = [s.lower() for s in bench.required_scenarios(system_type) + bench.optional_scenarios(system_type)]
        if [s for s in scenarios if s not in known]:
            raise FlowError(f"--scenarios: in the {division} division, {bench.name} (--system_type={system_type}) "
                            f"has only {', '.join(known)}")
    env["CMX_MLPERF_BENCHMARK"] = bench.name
    power_args(env.get("CMX_MLPERF_POWER_ARGS"))
    return scenarios, bench


def preprocess(i: dict[str, Any]) -> dict[str, Any]:
    env = i["env"]
    run_dir = Path(i["run_path"])
    env["CMX_MLPERF_SAMPLES_RESOLVED"] = env.get("CMX_MLPERF_SAMPLES") or env.get("CMX_DATASET_SAMPLES") or "16"
    try:
        scenarios, bench = validate_inputs(env)  # bad input fails before any run (exit 2)
    except FlowError as exc:
        return {"return": 1, "error": str(exc), "usage": True}
    progress = _Progress(i, steps(env, scenarios))
    i["_flow_progress"] = progress
    progress.start()
    try:
        results = [_benchmark_run(i, env, s, run_dir) for s in scenarios]
        env["CMX_MLPERF_RESULTS"] = ",".join(str(r) for r in results)
        gen_inputs = {"results": env["CMX_MLPERF_RESULTS"], "submitter": env["CMX_MLPERF_SUBMITTER"],
                      "division": env["CMX_MLPERF_DIVISION"], "status": env["CMX_MLPERF_STATUS"],
                      "system_type": env["CMX_MLPERF_SYSTEM_TYPE"], "benchmark": env["CMX_MLPERF_BENCHMARK"],
                      "out_dir": env.get("CMX_MLPERF_OUT") or str(run_dir / "submission")}
        for key, name in (("CMX_MLPERF_SYSTEM_NAME", "system_name"), ("CMX_MLPERF_SYSTEM_OVERRIDES", "system_overrides")):
            if env.get(key):
                gen_inputs[name] = env[key]
        gen = _call(i, "packaging", "generate,mlperf,submission", **gen_inputs)
    except FlowError as exc:
        return {"return": 1, "error": str(exc)}
    tree = gen["new_env"]["CMX_MLPERF_SUBMISSION_DIR"]
    env["CMX_MLPERF_SUBMISSION_DIR"] = tree
    check_tags = "check,mlperf,submission" + (",_official" if env.get("CMX_MLPERF_OFFICIAL") == "yes" else "")
    check_inputs = {"input": tree, "fail_on_reject": "no", "csv": str(run_dir / "summary.csv")}
    samples = int(env["CMX_MLPERF_SAMPLES_RESOLVED"])  # run,flexbench has accepted it as a whole number
    dataset_size = bench.dataset_size
    if samples < dataset_size:
        # not the benchmark's dataset (or a subset of it): the accuracy run cannot cover 13,368 samples
        check_inputs["skip_dataset_size_check"] = "yes"
        _say(i, f"note: the accuracy run covers {samples} samples, not the benchmark's {dataset_size}: "
              "the dataset-size check is skipped (ours and MLPerf's)")
    if env.get("CMX_MLPERF_INFERENCE_REPO"):
        check_inputs["inference_repo"] = env["CMX_MLPERF_INFERENCE_REPO"]
    progress.step("checking")
    check = i["cmx"].run(tags=check_tags, **check_inputs)
    if check.get("return", 1) != 0:  # the checker itself could not run (not a rejection)
        return {"return": 1, "error": f"checking {tree} failed: {check.get('error', 'unknown error')}"}
    for key, value in (check.get("new_env") or {}).items():
        if key.startswith(("CMX_MLPERF_CHECK_", "CMX_MLPERF_OFFICIAL_")):
            env[key] = value
    verdict = "accepted" if env.get("CMX_MLPERF_CHECK_PASSED") == "yes" else "rejected"
    env["CMX_MLPERF_CHECK_VERDICT"] = verdict
    short = env.get("CMX_MLPERF_SHORT") == "yes"
    _say(i, f"\nMLPerf submission tree: {tree}")
    _say(i, f"checker: {verdict}" + (" (expected: _short runs are not compliant)" if short and verdict == "rejected" else ""))
    if env.get("CMX_MLPERF_CHECK_REPORT"):
        _say(i, f"  report: {env['CMX_MLPERF_CHECK_REPORT']}")
    if verdict == "rejected" and env.get("CMX_MLPERF_FAIL_ON_REJECT") == "yes":
        return {"return": 1, "error": f"the checker rejected the submission tree {tree}"
                                      f" (report: {env.get('CMX_MLPERF_CHECK_REPORT', 'see the log')})"}
    return {"return": 0, "skip": True}
