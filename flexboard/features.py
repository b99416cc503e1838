"""Rows of the dataset -> the predictor's features.

Features that carry over to an accelerator or model nobody measured: the model graph (from its
config), the accelerator's characteristics (from ``accelerators.csv``), the physics they imply
(FLOPs and bytes per generated token, roofline bounds on tokens/s per accelerator), system counts,
CPU, framework family and scenario. No accelerator or system *name* is a feature.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flexboard import accelerators, modelgraph, tasks
from flexboard.errors import FlexBoardError

TARGET = "metrics.result_per_accelerator"
ROUND = "benchmark.version"

# Not features, though row_features computes them: what follows from the *declared* weight type
# (weight_bytes, the peak at that precision, log_compute_bound, flops_per_byte_machine, weights per
# accelerator, memory headroom, KV bytes). The label is inconsistent across rounds: v4.1 rows of
# TensorRT systems declare fp16 where v5.0 rows of the same systems declare fp8, and v4.1's only
# fp8 rows are slow vLLM ones, so a model fed the label learns "fp8 is slow" and misses v5.0 by
# 30-50 % (leave-round-out MAPE on the tasks it knows: 27.7 % with them, 18.8 % without).
NUMERIC = [
    "params_total_b", "params_active_b", "flops_per_token_g",
    "layers", "hidden", "experts", "active_experts",
    "acc_memory_gb", "acc_bandwidth_gbs", "acc_tdp_w", "acc_interconnect_gbs",
    "log_bandwidth_bound", "log_ref_bound",
    "count_per_node", "nodes", "total_count", "cpu_cores", "cpu_count", "host_memory_gb",
    "interactive", "accuracy_999", "task_output_tokens", "ttft_limit_ms", "tpot_limit_ms",
]
CATEGORICAL = ["scenario", "framework", "acc_vendor", "cpu_vendor", "interconnect_kind", "task", "division"]
FEATURES = NUMERIC + CATEGORICAL
# The raw identity columns the FlexBoard-style baseline memorises (accelerator, submitter, benchmark,
# framework as written). Only the "memory" models use them, and only for rows whose accelerator and
# task were seen in training (flexboard.predictor): they cannot carry over to a new accelerator.
MEMORY = ["acc_key", "organization", "benchmark", "framework_raw", "model_raw"]

_FRAMEWORKS = ("tensorrt", "vllm", "sglang", "nim", "rocm", "pytorch", "onnx")
SCENARIOS = ("Offline", "Server", "Interactive")


def framework_family(s: Any) -> str:
    low = str(s or "").lower()
    for f in _FRAMEWORKS:
        if f in low:
            return f
    return "other"


def interconnect_kind(s: Any) -> str:
    low = str(s or "").lower()
    for k in ("nvlink", "xgmi", "infinity", "infiniband", "pcie", "c2c"):
        if k in low:
            return "xgmi" if k == "infinity" else k
    return "none"


def _f(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def row_features(r: dict[str, Any]) -> dict[str, Any]:
    """One dataset row (dotted column names) -> a dict of FEATURES (NaN where unknown)."""
    name, mlperf = r.get("model.name"), r.get("model.mlperf_name")
    g = r.get("_graph") or modelgraph.graph_for(name, mlperf)
    acc = accelerators.lookup(r.get("system.accelerator.name"))
    wb = modelgraph.dtype_bytes(r.get("model.weight_data_types"))
    if wb is None and g is not None:
        wb = g.config_dtype_bytes
    per_node = _f(r.get("system.accelerator.count_per_node"))
    nodes = _f(r.get("system.number_of_nodes"))
    total = _f(r.get("system.accelerator.total_count"))
    if math.isnan(total) and not math.isnan(per_node):
        total = per_node * (1.0 if math.isnan(nodes) else nodes)
    out: dict[str, Any] = {k: math.nan for k in NUMERIC}
    if g is not None:
        out.update(params_total_b=g.params_total / 1e9, params_active_b=g.params_active / 1e9,
                   flops_per_token_g=2 * g.params_active / 1e9, kv_kb_per_token=g.kv_bytes_per_token_per_byte * (wb or 2) / 1e3,
                   layers=g.layers, hidden=g.hidden, experts=g.experts, active_experts=g.active_experts)
    else:
        params = _f(r.get("model.number_of_parameters"))
        if not math.isnan(params):
            out.update(params_total_b=params, params_active_b=params, flops_per_token_g=2 * params)
    out["weight_bytes"] = wb if wb is not None else math.nan
    mem = acc.memory_gb if acc and acc.memory_gb else _f(r.get("system.accelerator.memory_capacity"))
    bw = acc.bandwidth_gbs if acc and acc.bandwidth_gbs else math.nan
    peak = (acc.peak_tflops(wb) if acc else None) or math.nan
    out.update(acc_memory_gb=mem, acc_bandwidth_gbs=bw, acc_peak_tflops=peak,
               acc_tdp_w=(acc.tdp_w if acc and acc.tdp_w else math.nan),
               acc_interconnect_gbs=(acc.interconnect_gbs if acc and acc.interconnect_gbs else math.nan))
    weights_gb = out["params_total_b"] * (wb or math.nan)
    tp = per_node if per_node and not math.isnan(per_node) and per_node > 0 else 1.0
    out["weights_gb_per_accel"] = weights_gb / tp
    # roofline bounds on generated tokens/s per accelerator: compute (peak / FLOPs per token) and
    # batch-1 memory (bandwidth / active weight bytes read per token)
    out["log_compute_bound"] = math.log(peak * 1e12 / (out["flops_per_token_g"] * 1e9)) if peak > 0 and out["flops_per_token_g"] > 0 else math.nan
    active_bytes = out["params_active_b"] * 1e9 * 1.0  # at fp8, as log_ref_bound: not the declared type
    out["log_bandwidth_bound"] = math.log(bw * 1e9 / active_bytes) if bw > 0 and active_bytes > 0 else math.nan
    # the bound the target is normalised by: the dense peak at fp8 (fp16 where the part has no fp8),
    # the precision MLPerf LLM submissions run at, *not* the declared weight type (v4.1 rows declare
    # fp16 for what v5.0 rows of the same systems declare fp8: a 2x jump of a label-based bound)
    ref_peak = (acc.peak_tflops(1.0) if acc else None) or math.nan
    out["log_ref_bound"] = math.log(ref_peak * 1e12 / (out["flops_per_token_g"] * 1e9)) if ref_peak > 0 and out["flops_per_token_g"] > 0 else math.nan
    out["flops_per_byte_machine"] = peak * 1e3 / bw if peak > 0 and bw > 0 else math.nan
    out["memory_headroom"] = mem / out["weights_gb_per_accel"] if mem > 0 and out["weights_gb_per_accel"] > 0 else math.nan
    out.update(count_per_node=per_node, nodes=nodes, total_count=total,
               cpu_cores=_f(r.get("system.cpu.core_count")), cpu_count=_f(r.get("system.cpu.count_per_node")),
               host_memory_gb=_f(r.get("system.memory.capacity")))
    tag = f"{name or ''} {mlperf or ''}".lower()
    out["interactive"] = 1.0 if "interactive" in tag else 0.0
    out["accuracy_999"] = 1.0 if re.search(r"99\.9", tag) else 0.0
    scen = str(r.get("submission.scenario") or "")
    out["scenario"] = scen if scen in SCENARIOS else "other"
    out["framework"] = framework_family(r.get("software.framework"))
    out["acc_vendor"] = (acc.vendor if acc else str(r.get("system.accelerator.vendor") or "unknown")).lower()
    out["cpu_vendor"] = str(r.get("system.cpu.vendor") or "unknown").lower()
    task = tasks.lookup(mlperf or name)
    out["task"] = task.key if task else "other"
    lim = task.limits(scen) if task else None
    out["task_output_tokens"] = task.output_tokens_per_sample if task and task.output_tokens_per_sample else math.nan
    out["ttft_limit_ms"] = lim.ttft_ms if lim else math.nan
    out["tpot_limit_ms"] = lim.tpot_ms if lim else math.nan
    out["division"] = str(r.get("submission.division") or "closed").lower()
    out["acc_key"] = accelerators.canonical(r.get("system.accelerator.name"))
    out["organization"] = str(r.get("submission.organization") or "unknown")
    out["benchmark"] = str(mlperf or name or "unknown").lower()
    out["model_raw"] = str(name or "unknown").lower()
    out["framework_raw"] = str(r.get("software.framework") or "unknown")
    out["model_family"] = g.key if g is not None and g.key else "other"
    out["interconnect_kind"] = interconnect_kind(r.get("system.interconnect.accelerator") or (acc.interconnect if acc else ""))
    return out


def reference_log_bound(feat: dict[str, Any]) -> float:
    """The bound the target is normalised by: the compute roofline where the peak is known, else
    the batch-1 bandwidth roofline shifted by the table's typical ratio; NaN when neither is."""
    if not math.isnan(feat["log_ref_bound"]):
        return feat["log_ref_bound"]
    if not math.isnan(feat["log_bandwidth_bound"]):
        return feat["log_bandwidth_bound"] + math.log(600.0)  # ~ peak FLOP/byte of the table's GPUs / 2
    return math.nan


def frame(rows) -> "Any":
    """A pandas DataFrame of features for a DataFrame (or list of dicts) of dataset rows."""
    import pandas as pd

    recs = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    df = pd.DataFrame([row_features(r) for r in recs], columns=FEATURES + MEMORY)
    for c in CATEGORICAL + MEMORY:
        df[c] = df[c].astype("category")
    return df


def load_rows(dataset_dir: Any = None, data_file: Any = None):
    """The dataset's LLM throughput rows (tokens/s per accelerator known), as a DataFrame."""
    import pandas as pd

    if data_file:
        from pathlib import Path

        p = Path(str(data_file)).expanduser()
        if not p.is_file():
            raise FlexBoardError(f"--data={data_file}: no such file")
        df = pd.read_parquet(p)
    else:
        import openmlperf

        df = openmlperf.query("select * from results", dataset_dir).to_pandas()
    if df.empty or TARGET not in df.columns:
        where = data_file or openmlperf_dir(dataset_dir)
        raise FlexBoardError(f"the dataset ({where}) is empty: import the published one first with "
                             "`cmx run script --tags=import,open-mlperf-dataset "
                             "--path=../shared/data/open-mlperf-dataset/data.parquet` (or give --data=FILE.parquet)")
    keep = df[TARGET].notna() & (df[TARGET] > 0) & (df.get("metrics.units") == "Tokens/s")
    if "submission.mode" in df.columns:
        keep &= df["submission.mode"].fillna("performance") == "performance"
    out = df[keep].reset_index(drop=True)
    if out.empty:
        raise FlexBoardError(f"the dataset ({data_file or openmlperf_dir(dataset_dir)}) has no LLM rows with "
                             "tokens/s per accelerator: nothing to train on")
    return out


def openmlperf_dir(dataset_dir: Any) -> str:
    import openmlperf

    return str(openmlperf.dataset_dir(dataset_dir))
