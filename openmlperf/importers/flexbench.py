"""``import,flexbench,results``: every FlexBench ``result.json`` (schema ``flexbench-result/1``,
docs/flexbench.md) under a folder, default this home's ``cache/runs/`` (``run,flexbench`` runs
and the FlexBench runs inside ``run,mlperf,flexbench,_submission`` runs).

One row per run: its performance mode (or its accuracy mode, for an accuracy-only run).
Figures are re-read from the run's own ``mlperf_log_detail.txt`` when it is there (the way
MLPerf results are read); Offline TTFT/TPOT come from the SUT clocks in ``result.json``.
The run's identity is its run folder (the nearest folder with ``cmx-lock.json``), so the
same run imported through ``cache/runs`` or through its own folder is stored once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Mapping

from flexbench.loadgen_log import LogError, parse_detail
from openmlperf import accuracy, derive, headline, normalize, schema
from openmlperf.errors import DatasetError
from openmlperf.importers.common import Candidate, ImportReport, Skip, commit
from openmlperf.storage import SourceRef, Store

KIND = "flexbench-run"
SCHEMA_PREFIX = "flexbench-result/"
LOCK = "cmx-lock.json"
DETAIL = "mlperf_log_detail.txt"
_SCENARIOS = {s.lower(): s for s in schema.SCENARIOS}


def default_runs_dir() -> Path:
    from cmx.home import current_home

    return current_home().runs_dir


def run_dir(result_json: Path) -> Path | None:
    for d in result_json.parents:
        if (d / LOCK).is_file():
            return d
    return None


def run_id(result_json: Path, data: Mapping[str, Any]) -> str:
    rd = run_dir(result_json)
    if rd is not None:
        rel = result_json.parent.relative_to(rd).as_posix()
        return rd.name if rel in ("flexbench", ".") else f"{rd.name}/{rel}"
    out = str((data.get("config") or {}).get("out_dir") or result_json.parent)
    return out


def lock_digest(lock: Any) -> str | None:
    if not isinstance(lock, dict):
        return None
    text = json.dumps(lock, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def reproduce_command(lock: Any) -> str | None:
    """``cmx run script ALIAS --tags=_v1,_v2 --input=value ...`` from the lockfile's root node (the
    packager's own builder, without ``--frozen``: the lockfile is not beside the dataset)."""
    if not isinstance(lock, dict):
        return None
    from flexbench.mlperf.provenance import reproduce_command as from_lock

    return from_lock(lock, None)


def _rel(root: Path, p: Path) -> str:
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(p)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _mode_log(result_json: Path, entry: Mapping[str, Any] | None, mode: str) -> Path | None:
    for cand in (result_json.parent / mode / DETAIL, Path(str((entry or {}).get("dir") or "")) / DETAIL):
        if cand.is_file():
            return cand
    return None


def _framework(backend: Mapping[str, Any]) -> tuple[str | None, str | None]:
    tv, torch = backend.get("transformers"), backend.get("torch")
    parts = [f"transformers {tv}" if tv else None, f"PyTorch {torch}" if torch else None]
    fw = ", ".join(p for p in parts if p)
    return (fw or None), (str(torch).split("+")[0] if torch else None)


def result_row(result_json: Path, data: Mapping[str, Any], *, source: str, root: Path | None) -> dict[str, Any]:
    """One dataset row from a FlexBench result.json (and the logs beside it)."""
    if not isinstance(data, dict):
        raise ValueError("result.json is not a JSON object")
    if not str(data.get("schema") or "").startswith(SCHEMA_PREFIX):
        raise ValueError(f"not a FlexBench result (schema {data.get('schema')!r})")
    config = data.get("config") or {}
    prov = data.get("provenance") or {}
    modes = data.get("modes") or {}
    summary = data.get("summary") or {}
    mode = "performance" if "performance" in modes or not modes else "accuracy"
    entry = modes.get(mode) or {}
    lg = entry.get("loadgen") or {}
    scenario = _SCENARIOS.get(str(summary.get("scenario") or lg.get("scenario") or config.get("scenario") or "").lower())
    if scenario is None:
        raise ValueError(f"unknown scenario {config.get('scenario')!r}")
    rid_text = run_id(result_json, data)
    rid, ident = schema.identity(kind="flexbench", run_id=rid_text, scenario=scenario, mode=mode)
    desc = prov.get("system_description") if isinstance(prov.get("system_description"), dict) else {}
    row: dict[str, Any] = normalize.system_columns(desc)
    lock = prov.get("cmx_lock") if isinstance(prov.get("cmx_lock"), dict) else None
    cpus = ((lock or {}).get("machine") or {}).get("cpus")
    if cpus:
        row["system.cpu.vcpu_count"] = str(cpus)
    files = [result_json]
    log_path = _mode_log(result_json, entry, mode)
    if log_path is not None:
        try:
            row.update(derive.log_columns(parse_detail(log_path)))
        except (LogError, OSError) as exc:
            raise ValueError(str(exc)) from None
        files.append(log_path)
    elif lg:
        row.update(_from_summary(lg))
    # Offline: LoadGen logs no TTFT/TPOT; the run's SUT clocks do
    if summary.get("token_latency_source") == "sut":
        row.update(derive.latency_columns("ttft", summary.get("ttft_ms")))
        row.update(derive.latency_columns("tpot", summary.get("tpot_ms")))
    acc = data.get("accuracy") if isinstance(data.get("accuracy"), dict) else {}
    metrics = {k: float(acc[src]) for k, src in (("ROUGE1", "rouge1"), ("ROUGE2", "rouge2"), ("ROUGEL", "rougeL"),
                                                   ("ROUGELSUM", "rougeLsum"), ("TOKENS_PER_SAMPLE", "tokens_per_sample"),
                                                   ("GEN_LEN", "gen_len")) if _num(acc.get(src)) is not None}
    acc_txt = result_json.parent / "accuracy" / "accuracy.txt"
    if acc_txt.is_file():
        files.append(acc_txt)
    row.update(accuracy.columns(metrics))
    tps, sps = row.get("metrics.tokens_per_second"), row.get("metrics.samples_per_second")
    if scenario in ("SingleStream", "MultiStream"):
        value = row.get("metrics.latency.p90" if scenario == "SingleStream" else "metrics.latency.p99")
        units, key = "Latency (ms)", ("latency p90" if scenario == "SingleStream" else "latency p99")
    elif tps is not None:
        value, units, key = tps, "Tokens/s", "result_tokens_per_second"
    else:
        value, units, key = sps, "Samples/s", "result_samples_per_second"
    power = data.get("power") if isinstance(data.get("power"), dict) else {}
    if power and not power.get("estimate") and _num(power.get("avg_power_w")) is not None:
        row["power.average"] = float(power["avg_power_w"])
        row["power.energy_per_sample"] = _num(power.get("joules_per_sample"))
        row["power.energy_per_token"] = _num(power.get("joules_per_token"))
    backend = entry.get("backend") or {}
    fw, torch = _framework(backend)
    model = prov.get("model") if isinstance(prov.get("model"), dict) else {}
    try:
        params = float(model.get("parameters")) / 1e9 if model.get("parameters") else None
    except (TypeError, ValueError):
        params = None
    conf_model = str(config.get("conf_model") or "")
    round_ = str(prov.get("mlperf_round") or "") or None
    lock_path = (run_dir(result_json) or result_json.parent) / LOCK
    if lock_path.is_file():
        files.append(lock_path)
    total = row.get("system.accelerator.total_count")
    row.update({
        "benchmark.name": "flexbench",
        "benchmark.version": round_.lstrip("v") if round_ else None,
        "metrics.result": value,
        "metrics.units": units if value is not None else None,
        "metrics.result_key": key if value is not None else None,
        "metrics.result_per_accelerator": normalize.per_unit(value, total),
        "metrics.result_per_node": normalize.per_unit(value, row.get("system.number_of_nodes") or 1),
        "metrics.accuracy": accuracy.format_string({k: v for k, v in metrics.items()
                                                    if k in ("ROUGE1", "ROUGE2", "ROUGEL", "TOKENS_PER_SAMPLE")}),
        "model.name": config.get("model_id") or model.get("id"),
        "model.mlperf_name": conf_model if headline.is_known(conf_model) else None,
        "model.architecture": "LLM",
        "model.number_of_parameters": params,
        "model.weight_data_types": normalize.dtype(backend.get("dtype") or model.get("dtype")),
        "software.framework": fw if fw else row.get("software.framework"),
        "software.framework.pytorch": torch or row.get("software.framework.pytorch"),
        "submission.scenario": scenario,
        "submission.mode": mode,
        "submission.round": round_,
        "submission.platform": row.get("system.name"),
        "submission.debug_uid": rid,
        "result.id": rid,
        "result.identity": ident,
        "flexbench.run_id": rid_text,
        "flexbench.status": data.get("status"),
        "flexbench.backend": config.get("backend"),
        "flexbench.dataset": config.get("dataset_name"),
        "flexbench.samples": config.get("dataset_size"),
        "flexbench.batch_size": config.get("batch_size"),
        "flexbench.max_output_tokens": config.get("max_output_tokens"),
        "flexbench.token_latency_source": summary.get("token_latency_source"),
        "flexbench.peak_rss": _num(summary.get("peak_rss_mb")),
        "provenance.source_kind": KIND,
        "provenance.source": source,
        "provenance.files": json.dumps([_rel(root, p) if root else p.name for p in files]),
        "provenance.cmx_version": (lock or {}).get("cmx_version"),
        "provenance.lockfile_digest": lock_digest(lock),
        "provenance.reproduce": reproduce_command(lock),
    })
    if row.get("metrics.valid") is None and mode == "accuracy":
        row["metrics.valid"] = None
    return row


def _from_summary(lg: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of ``modes.<mode>.loadgen`` when the log itself is gone."""
    settings = lg.get("settings") or {}
    row = {"metrics.samples_per_second": _num(lg.get("samples_per_second")),
           "metrics.tokens_per_second": _num(lg.get("tokens_per_second")),
           "metrics.valid": lg.get("valid") if lg.get("validity") else None,
           "metrics.validity": lg.get("validity"),
           "metrics.invalid_reasons": "; ".join(lg.get("invalid_reasons") or []),
           "loadgen.version": lg.get("loadgen_version"), "loadgen.test_mode": lg.get("mode"),
           "loadgen.min_duration": _num(settings.get("min_duration_ms")),
           "loadgen.min_query_count": settings.get("min_query_count"),
           "loadgen.query_count": lg.get("query_count"),
           "loadgen.samples_per_query": settings.get("samples_per_query"),
           "loadgen.performance_sample_count": settings.get("performance_sample_count"),
           "loadgen.target_qps": _num(settings.get("target_qps")),
           "loadgen.error_count": lg.get("error_count")}
    for kind in ("latency", "ttft", "tpot"):
        row.update(derive.latency_columns(kind, lg.get(f"{kind}_ms")))
    return row


def find_results(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    yield from sorted(root.rglob("result.json"))


def candidates(root: Path, source: str, report: ImportReport) -> Iterator[Candidate | Skip]:
    other = 0
    for path in find_results(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            yield Skip(str(path), f"not readable JSON: {exc}")
            continue
        if not (isinstance(data, dict) and str(data.get("schema") or "").startswith(SCHEMA_PREFIX)):
            other += 1  # another tool's result.json: not ours to read
            continue
        try:
            yield Candidate(str(path), result_row(path, data, source=source, root=root if root.is_dir() else None))
        except (ValueError, TypeError, KeyError) as exc:
            yield Skip(str(path), str(exc) or type(exc).__name__)
    if other:
        report.notes.append(f"{other} result.json file(s) of other tools ignored")


def import_runs(path: str | Path | None = None, dataset_dir: str | Path | None = None) -> ImportReport:
    root = Path(path).expanduser().resolve() if path else default_runs_dir().resolve()
    if not root.exists():
        raise DatasetError(f"--path={root}: no such folder")
    store = Store(dataset_dir)
    report = ImportReport(source=str(root), kind=KIND)
    items = list(candidates(root, str(root), report))
    out = commit(store, SourceRef(KIND, str(root)), items)
    out.notes[:0] = report.notes
    return out
