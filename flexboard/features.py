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
    "latency_fraction",
]
CATEGORICAL = ["scenario", "framework", "acc_vendor", "cpu_vendor", "interconnect_kind", "task", "division"]
FEATURES = NUMERIC + CATEGORICAL
# What the models for a task nobody measured see (flexboard.predictor): the features that say nothing
# of the task. Each training task has its own model, prompt and output lengths and latency limits, so
# model-graph and task columns would only name the training tasks, and a tree fed them routes a new
# task to whichever training task its numbers happen to fall next to.
TASK_SPECIFIC = {"params_total_b", "params_active_b", "flops_per_token_g", "layers", "hidden", "experts",
                 "active_experts", "log_bandwidth_bound", "log_ref_bound", "accuracy_999", "task_output_tokens",
                 "ttft_limit_ms", "tpot_limit_ms", "latency_fraction", "task"}
AGNOSTIC = [c for c in FEATURES if c not in TASK_SPECIFIC]
# computed into the frame for the normalising bound (``reference_log_bound``), not model inputs
BOUND_PARTS = ["prefill_factor", "log_prefill_bound", "context_tokens", "kv_read_ratio", "latency_fraction",
               "log_serving_bound"]
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
    out["accuracy_999"] = 1.0 if re.search(r"99\.9", tag) else 0.0
    # v5.0's llama2-70b-interactive Server is v5.1's llama2-70b Interactive: one task, one scenario
    task, scen = tasks.resolve(mlperf or name, str(r.get("submission.scenario") or ""))
    out["interactive"] = 1.0 if scen == "Interactive" else 0.0
    out["scenario"] = scen if scen in SCENARIOS else "other"
    out["framework"] = framework_family(r.get("software.framework"))
    out["acc_vendor"] = (acc.vendor if acc else str(r.get("system.accelerator.vendor") or "unknown")).lower()
    out["cpu_vendor"] = str(r.get("system.cpu.vendor") or "unknown").lower()
    out["task"] = task.key if task else "other"
    lim = task.limits(scen) if task else None
    out["task_output_tokens"] = task.output_tokens_per_sample if task and task.output_tokens_per_sample else math.nan
    out["task_input_tokens"] = task.input_tokens_per_sample if task and task.input_tokens_per_sample else math.nan
    out["ttft_limit_ms"] = lim.ttft_ms if lim else math.nan
    out["tpot_limit_ms"] = lim.tpot_ms if lim else math.nan
    phys = serving_bound(out, g, ref_peak, bw, tp)
    out.update(phys)
    out["division"] = str(r.get("submission.division") or "closed").lower()
    out["acc_key"] = accelerators.canonical(r.get("system.accelerator.name"))
    out["organization"] = str(r.get("submission.organization") or "unknown")
    out["benchmark"] = str(mlperf or name or "unknown").lower()
    out["model_raw"] = str(name or "unknown").lower()
    out["framework_raw"] = str(r.get("software.framework") or "unknown")
    out["model_family"] = g.key if g is not None and g.key else "other"
    out["interconnect_kind"] = interconnect_kind(r.get("system.interconnect.accelerator") or (acc.interconnect if acc else ""))
    return out


def prefill_factor(input_tokens: float, output_tokens: float) -> float:
    """FLOPs per generated token over 2 x active parameters: each sample's prompt is processed once
    (2·P per prompt token) and its output token by token (2·P each), so per generated token
    2·P·(input + output) / output. 1 where either length is unknown (decode only)."""
    if not (input_tokens > 0) or not (output_tokens > 0):
        return 1.0
    return (input_tokens + output_tokens) / output_tokens


def serving_bound(feat: dict[str, Any], g: Any, peak_tflops: float, bandwidth_gbs: float, tp: float) -> dict[str, float]:
    """The roofline of serving an MLPerf task on ``tp`` accelerators sharing one model copy, per
    accelerator, at fp8 (the precision the reference bound uses), as log tokens/s and its parts:

    - compute: peak / (2·P_active · prefill_factor) (``log_prefill_bound``);
    - KV cache: each decode step also reads every running sequence's cache, context·kv_bytes per
      sequence (context = mean input + half the mean output; the input counts 0 where unknown), so
      per token the time is context·kv/BW + FLOPs/peak: the compute bound is divided by
      1 + context·kv·peak/(BW·FLOPs) (``kv_read_ratio``);
    - latency: a Server/Interactive step must end within the task's TPOT limit, and each step first
      reads the weights (P_total bytes over ``tp`` accelerators, every expert of an MoE at serving
      batch sizes): only 1 - t_weights/TPOT of each step is left for the batch, which caps it
      (``latency_fraction``; 1 for Offline, floored at 0.02 where the weights alone take longer).

    NaN where the model graph or the accelerator's peak and bandwidth are unknown."""
    nan = math.nan
    out = {"prefill_factor": nan, "log_prefill_bound": nan, "context_tokens": nan, "kv_read_ratio": nan,
           "latency_fraction": nan, "log_serving_bound": nan}
    if g is None or not (peak_tflops > 0):
        return out
    pf = prefill_factor(feat.get("task_input_tokens", nan), feat.get("task_output_tokens", nan))
    flops = 2.0 * g.params_active * pf
    out["prefill_factor"] = pf
    out["log_prefill_bound"] = math.log(peak_tflops * 1e12 / flops)
    if not (bandwidth_gbs > 0):
        return out
    bw = bandwidth_gbs * 1e9
    inp = feat.get("task_input_tokens", nan)
    outp = feat.get("task_output_tokens", nan)
    ctx = (inp if inp > 0 else 0.0) + (outp / 2 if outp > 0 else 0.0)
    kv_bytes = g.kv_bytes_per_token_per_byte * 1.0  # fp8 cache
    ratio = ctx * kv_bytes * peak_tflops * 1e12 / (bw * flops)
    tpot = feat.get("tpot_limit_ms", nan)
    frac = 1.0
    if tpot > 0:
        t_weights = g.params_total * 1.0 / (max(tp, 1.0) * bw)
        frac = max(0.02, 1.0 - t_weights / (tpot / 1e3))
    out.update(context_tokens=ctx, kv_read_ratio=ratio, latency_fraction=frac,
               log_serving_bound=out["log_prefill_bound"] - math.log1p(ratio) + math.log(frac))
    return out


def reference_log_bound(feat: dict[str, Any]) -> float:
    """The bound the target is normalised by: the compute roofline where the peak is known, else
    the batch-1 bandwidth roofline shifted by the table's typical ratio; NaN when neither is.
    Divided by the task's prefill factor (the prompt's FLOPs per generated token; 1 while the task
    table has no input length), so that a task of long prompts moves the prediction by its physics.
    The latency fraction is a feature, not a factor here: in the bound it moved leave-one-
    accelerator-out by +3.5 points (docs/flexboard.md)."""
    if not math.isnan(feat["log_ref_bound"]):
        base = feat["log_ref_bound"]
    elif not math.isnan(feat["log_bandwidth_bound"]):
        base = feat["log_bandwidth_bound"] + math.log(600.0)  # ~ peak FLOP/byte of the table's GPUs / 2
    else:
        return math.nan
    pf = feat.get("prefill_factor", math.nan)
    return base - math.log(pf) if pf > 0 else base


def frame(rows) -> "Any":
    """A pandas DataFrame of features for a DataFrame (or list of dicts) of dataset rows."""
    import pandas as pd

    recs = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    df = pd.DataFrame([row_features(r) for r in recs],
                      columns=FEATURES + MEMORY + [c for c in BOUND_PARTS if c not in FEATURES])
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
