"""The schema of the Open MLPerf Dataset, version ``SCHEMA_VERSION``.

One row is one benchmark result: one (round or FlexBench run, division, submitter,
system, benchmark, scenario, mode). Columns are flat dotted names. The first 48 are the
published dataset's columns (FlexAI and MLCommons, Apache-2.0), with the same names,
types and meanings; the rest are ours. Every field is documented, with its unit, in
docs/dataset.md (a test checks that the two lists agree).

Standard library only: pyarrow is imported by ``arrow_schema()`` when it is called.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from openmlperf.errors import SchemaError

SCHEMA_VERSION = 1
# The parquet key-value metadata key that carries the version of a stored file.
META_KEY = b"openmlperf.schema_version"

STRING, DOUBLE, INT, BOOL = "string", "double", "int64", "bool"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    unit: str
    description: str
    published: bool = False


def _f(name: str, type_: str, unit: str, desc: str, published: bool = False) -> Field:
    return Field(name, type_, unit, desc, published)


def _p(name: str, type_: str, unit: str, desc: str) -> Field:
    return Field(name, type_, unit, desc, True)


_PUBLISHED: tuple[Field, ...] = (
    _p("benchmark.name", STRING, "", "`mlperf-inference` for MLPerf results, `flexbench` for FlexBench runs"),
    _p("benchmark.version", STRING, "", "the MLPerf round without the `v` (`4.1`, `5.0`); for FlexBench the round of its LoadGen"),
    _p("datetime", STRING, "ISO 8601, no zone", "when the performance run started (LoadGen's `test_datetime` or power window); null when unknown"),
    _p("metrics.accuracy", STRING, "", "the accuracy figures as one string, `NAME: value` pairs joined by two spaces, as MLPerf's summary.csv writes them"),
    _p("metrics.result", DOUBLE, "`metrics.units`", "the headline metric of the result (the one MLPerf's results table shows)"),
    _p("metrics.result_per_accelerator", DOUBLE, "`metrics.units` per accelerator", "`metrics.result / system.accelerator.total_count`; null when there is no accelerator (CPU-only systems)"),
    _p("metrics.units", STRING, "", "`Tokens/s`, `Samples/s`, `Queries/s`, `Latency (ms)`, `Latency (s)`, `Tasks/s`"),
    _p("model.architecture", STRING, "", "`LLM` or `Other`"),
    _p("model.mlperf_name", STRING, "", "the MLPerf benchmark name (`llama2-70b-99`, `resnet`); null for a FlexBench model that maps to none"),
    _p("model.name", STRING, "", "the model as submitted (the benchmark folder name, or the Hugging Face id for FlexBench)"),
    _p("model.number_of_parameters", DOUBLE, "billions", "parameter count"),
    _p("model.weight_data_types", STRING, "", "weight precision (`fp8`, `fp16`, `int8`, ...)"),
    _p("software.framework", STRING, "", "the system description's framework string, as written"),
    _p("software.framework.ai", STRING, "version", "the `AI` framework version named in `software.framework`"),
    _p("software.framework.cuda", STRING, "version", "CUDA version named in `software.framework`"),
    _p("software.framework.cudnn", STRING, "version", "cuDNN version named in `software.framework`"),
    _p("software.framework.jetpack", STRING, "version", "JetPack version named in `software.framework`"),
    _p("software.framework.pytorch", STRING, "version", "PyTorch version named in `software.framework`"),
    _p("software.framework.rocm", STRING, "version", "ROCm version named in `software.framework`"),
    _p("software.framework.sima", STRING, "version", "SiMa SDK version named in `software.framework`"),
    _p("software.framework.tensorrt", STRING, "version", "TensorRT version named in `software.framework`"),
    _p("software.framework.vllm", STRING, "version", "vLLM version named in `software.framework`"),
    _p("software.operating_system", STRING, "", "operating system"),
    _p("submission.availability", STRING, "", "`available`, `preview` or `rdi`"),
    _p("submission.debug_uid", STRING, "", "a unique id of the row (16 hex digits)"),
    _p("submission.division", STRING, "", "`closed`, `open` or `network`"),
    _p("submission.organization", STRING, "", "the submitter"),
    _p("submission.scenario", STRING, "", "`Offline`, `Server`, `SingleStream`, `MultiStream` or `Interactive`"),
    _p("system.accelerator.count_per_node", INT, "accelerators", "accelerators per node (0 on CPU-only systems)"),
    _p("system.accelerator.memory_capacity", DOUBLE, "GB", "memory per accelerator"),
    _p("system.accelerator.memory_config", STRING, "", "accelerator memory type (`HBM3`, `GDDR6`, ...)"),
    _p("system.accelerator.name", STRING, "", "accelerator model name; null on CPU-only systems"),
    _p("system.accelerator.total_count", INT, "accelerators", "`number_of_nodes × count_per_node` (0 on CPU-only systems)"),
    _p("system.accelerator.vendor", STRING, "", "accelerator vendor (by keyword on the name)"),
    _p("system.cpu.caches", STRING, "", "host processor caches, as written"),
    _p("system.cpu.core_count", INT, "cores", "cores per host processor"),
    _p("system.cpu.count_per_node", INT, "processors", "host processors per node"),
    _p("system.cpu.frequency", DOUBLE, "GHz", "host processor frequency"),
    _p("system.cpu.model", STRING, "", "host processor model name"),
    _p("system.cpu.vcpu_count", STRING, "vCPUs", "logical CPUs, when known (a string, as published)"),
    _p("system.cpu.vendor", STRING, "", "host processor vendor (by keyword on the model)"),
    _p("system.interconnect.accelerator", STRING, "", "accelerator-to-accelerator interconnect (NVLink, XGMI, PCIe, InfiniBand, ...)"),
    _p("system.interconnect.accelerator_host", STRING, "", "accelerator-to-host interconnect"),
    _p("system.memory.capacity", DOUBLE, "GB", "host memory per node"),
    _p("system.memory.configuration", STRING, "", "host memory configuration, as written"),
    _p("system.name", STRING, "", "the system's name from its description"),
    _p("system.number_of_nodes", INT, "nodes", "nodes in the system"),
    _p("system.type", STRING, "", "`datacenter`, `edge` or `datacenter,edge`"),
)

_LAT = (("min", "minimum"), ("mean", "mean"), ("max", "maximum"), ("p50", "50th percentile"),
        ("p90", "90th percentile"), ("p95", "95th percentile"), ("p97", "97th percentile"),
        ("p99", "99th percentile"), ("p999", "99.9th percentile"))


def _lat(group: str, what: str) -> tuple[Field, ...]:
    return tuple(_f(f"metrics.{group}.{k}", DOUBLE, "ms", f"{what}, {label}") for k, label in _LAT)


# Accuracy metrics with their own numeric column (lower-cased MLPerf metric names).
ACCURACY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("rouge1", "%", "ROUGE-1 F-measure × 100"),
    ("rouge2", "%", "ROUGE-2 F-measure × 100"),
    ("rougel", "%", "ROUGE-L F-measure × 100"),
    ("rougelsum", "%", "ROUGE-Lsum F-measure × 100"),
    ("tokens_per_sample", "tokens", "mean generated tokens per sample"),
    ("gen_len", "characters", "total length of the generated text"),
    ("acc", "% (or fraction, as the benchmark reports it)", "top-1 accuracy (resnet, rgat)"),
    ("map", "%", "mean average precision (retinanet, yolo)"),
    ("f1", "%", "F1 score (bert)"),
    ("auc", "fraction", "AUC (dlrm)"),
    ("dice", "fraction", "mean DICE (3d-unet)"),
    ("word_accuracy", "%", "100 − word error rate (whisper, rnnt: MLPerf's `ACCURACY`)"),
    ("clip_score", "", "CLIP score (stable-diffusion-xl)"),
    ("fid_score", "", "FID score (stable-diffusion-xl)"),
    ("exact_match", "%", "exact match (deepseek-r1, gpt-oss)"),
    ("gsm8k", "%", "GSM8K accuracy (mixtral)"),
    ("mbxp", "%", "MBXP accuracy (mixtral)"),
)

_ADDED: tuple[Field, ...] = (
    _f("schema_version", INT, "", f"the schema version of the row ({SCHEMA_VERSION})"),
    _f("result.id", STRING, "", "the stable identity of the result: sha256 of `result.identity`, first 16 hex digits; the deduplication key"),
    _f("result.identity", STRING, "", "the identity fields as canonical JSON: round, division, submitter, system, benchmark, scenario, mode, and the run id for FlexBench runs"),
    _f("submission.platform", STRING, "", "the system folder name (`system_desc_id`) in the results tree; the run's system for FlexBench"),
    _f("submission.mode", STRING, "", "`performance` (a performance run, with its accuracy run's figures joined) or `accuracy` (an accuracy-only run)"),
    _f("submission.round", STRING, "", "the MLPerf round (`v4.1`), or the round of the LoadGen a FlexBench run used"),
    _f("metrics.result_key", STRING, "", "the LoadGen detail-log key the headline metric was read from"),
    _f("metrics.result_per_node", DOUBLE, "`metrics.units` per node", "`metrics.result / system.number_of_nodes`; defined for CPU-only systems too"),
    _f("metrics.samples_per_second", DOUBLE, "samples/s", "LoadGen's samples per second (Offline) or completed samples per second (Server)"),
    _f("metrics.tokens_per_second", DOUBLE, "tokens/s", "LoadGen's tokens per second, where the run logged tokens (inferred for gptj)"),
    _f("metrics.early_stopping_latency", DOUBLE, "ms", "the early-stopping latency estimate (SingleStream p90, MultiStream p99)"),
    *_lat("latency", "sample latency"),
    *_lat("ttft", "time to first token"),
    *_lat("tpot", "time per output token"),
    _f("metrics.valid", BOOL, "", "LoadGen's verdict: `result_validity == VALID`"),
    _f("metrics.validity", STRING, "", "`VALID` or `INVALID` as LoadGen wrote it (null when not logged)"),
    _f("metrics.invalid_reasons", STRING, "", "why the run is INVALID, `; `-joined (empty when VALID)"),
    _f("metrics.min_duration_met", BOOL, "", "LoadGen's `result_min_duration_met`"),
    _f("metrics.min_queries_met", BOOL, "", "LoadGen's `result_min_queries_met`"),
    _f("metrics.perf_constraints_met", BOOL, "", "LoadGen's `result_perf_constraints_met` (latency, TTFT, TPOT limits; Server)"),
    _f("metrics.early_stopping_met", BOOL, "", "LoadGen's `early_stopping_met`"),
    _f("metrics.early_stopping_result", STRING, "", "LoadGen's early-stopping text"),
    _f("loadgen.version", STRING, "", "LoadGen's version (`4.1 @ 379ee5345a`)"),
    _f("loadgen.test_mode", STRING, "", "`PerformanceOnly` or `AccuracyOnly`"),
    _f("loadgen.min_duration", DOUBLE, "ms", "the effective `min_duration`"),
    _f("loadgen.min_query_count", INT, "queries", "the effective `min_query_count`"),
    _f("loadgen.query_count", INT, "queries", "queries the run completed (`result_query_count`)"),
    _f("loadgen.samples_per_query", INT, "samples", "samples per query (Offline: all in one; MultiStream: 8)"),
    _f("loadgen.performance_sample_count", INT, "samples", "the effective performance sample count"),
    _f("loadgen.target_qps", DOUBLE, "queries/s", "the effective target QPS"),
    _f("loadgen.target_latency", DOUBLE, "ms", "the effective target latency (Server, SingleStream, MultiStream)"),
    _f("loadgen.duration", DOUBLE, "s", "the performance run's length, power_begin to power_end"),
    _f("loadgen.error_count", INT, "", "LoadGen records flagged `is_error`"),
    _f("power.average", DOUBLE, "W", "average system power over the run (MLPerf's power metric for Offline/Server)"),
    _f("power.energy_per_sample", DOUBLE, "J/sample", "energy per sample: average power / samples per second"),
    _f("power.energy_per_token", DOUBLE, "J/token", "energy per token: average power / tokens per second"),
    _f("power.energy_per_query", DOUBLE, "mJ/query", "MLPerf's power metric for SingleStream/MultiStream"),
    *(_f(f"accuracy.{m}", DOUBLE, unit, desc) for m, unit, desc in ACCURACY_METRICS),
    _f("accuracy.metrics", STRING, "", "every accuracy metric found, as a JSON object `{name: number}`"),
    _f("flexbench.run_id", STRING, "", "the FlexBench run's id (its run folder name)"),
    _f("flexbench.status", STRING, "", "`ok` or `failed`, the verdict on the run (result.json `status`)"),
    _f("flexbench.backend", STRING, "", "`hf`, `openai` or `noop`"),
    _f("flexbench.dataset", STRING, "", "the dataset's name"),
    _f("flexbench.samples", INT, "samples", "samples taken from the dataset"),
    _f("flexbench.batch_size", INT, "samples", "samples per backend call"),
    _f("flexbench.max_output_tokens", INT, "tokens", "generated tokens at most per sample"),
    _f("flexbench.token_latency_source", STRING, "", "`loadgen` or `sut`: whose clocks gave TTFT/TPOT"),
    _f("flexbench.peak_rss", DOUBLE, "MiB", "the harness's largest peak resident set size"),
    _f("provenance.source_kind", STRING, "", "`mlperf-round`, `flexbench-run`, `published-dataset` or `contribution`"),
    _f("provenance.source", STRING, "", "the source's URL or local path (a results repository, a runs folder, data.parquet, a bundle)"),
    _f("provenance.commit", STRING, "", "the git commit of the results repository, when the source is a git checkout"),
    _f("provenance.files", STRING, "", "the files the row came from, as a JSON list of paths relative to `provenance.source`"),
    _f("provenance.cmx_version", STRING, "", "the cmx version that imported the row (and, for FlexBench, ran it)"),
    _f("provenance.lockfile_digest", STRING, "", "FlexBench: sha256 of the run's lockfile (canonical JSON)"),
    _f("provenance.reproduce", STRING, "", "FlexBench: the command that reproduces the run"),
    _f("provenance.imported_at", STRING, "ISO 8601 UTC", "when the row was imported"),
    _f("provenance.contribution", STRING, "", "the id of the contribution bundle the row was merged from"),
)

FIELDS: tuple[Field, ...] = _PUBLISHED + _ADDED
FIELD_BY_NAME: Mapping[str, Field] = {f.name: f for f in FIELDS}
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
PUBLISHED_COLUMNS: tuple[str, ...] = tuple(f.name for f in _PUBLISHED)
# Fields every row must have; the identity fields are among them.
REQUIRED: tuple[str, ...] = ("schema_version", "result.id", "result.identity", "benchmark.name",
                             "submission.scenario", "submission.mode", "provenance.source_kind", "provenance.source")
SOURCE_KINDS: tuple[str, ...] = ("mlperf-round", "flexbench-run", "published-dataset", "contribution")
SCENARIOS: tuple[str, ...] = ("Offline", "Server", "SingleStream", "MultiStream", "Interactive")
MODES: tuple[str, ...] = ("performance", "accuracy")


def arrow_schema():  # -> pyarrow.Schema
    import pyarrow as pa

    types = {STRING: pa.string(), DOUBLE: pa.float64(), INT: pa.int64(), BOOL: pa.bool_()}
    return pa.schema([pa.field(f.name, types[f.type]) for f in FIELDS],
                     metadata={META_KEY: str(SCHEMA_VERSION).encode()})


def identity(**parts: Any) -> tuple[str, str]:
    """``(result.id, result.identity)`` for the given identity fields."""
    text = json.dumps({k: ("" if v is None else str(v)) for k, v in parts.items()}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16], text


def _coerce(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    t = field.type
    if t == STRING:
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True)
        return str(value)
    if t == BOOL:
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true/false, got {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if t == INT:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, (int, float)):
        f = float(value)
    elif isinstance(value, str):
        f = float(value.strip())
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(f):
        raise ValueError(f"expected a finite number, got {value!r}")
    return f


def validate(row: Mapping[str, Any], where: str = "row") -> dict[str, Any]:
    """The row with every schema column, coerced to its type; raises ``SchemaError``
    naming ``where`` and the field for an unknown field, a bad type or a missing required field."""
    unknown = [k for k in row if k not in FIELD_BY_NAME]
    if unknown:
        raise SchemaError(f"{where}: unknown field(s) {', '.join(sorted(unknown)[:5])} (schema {SCHEMA_VERSION})")
    out: dict[str, Any] = {}
    for f in FIELDS:
        try:
            out[f.name] = _coerce(f, row.get(f.name))
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"{where}: field {f.name}: {exc}") from None
    for name in REQUIRED:
        if out[name] in (None, ""):
            raise SchemaError(f"{where}: required field {name} is missing")
    if out["schema_version"] != SCHEMA_VERSION:
        raise SchemaError(f"{where}: schema_version {out['schema_version']} is not {SCHEMA_VERSION}")
    if out["provenance.source_kind"] not in SOURCE_KINDS:
        raise SchemaError(f"{where}: provenance.source_kind {out['provenance.source_kind']!r} is not one of "
                          f"{', '.join(SOURCE_KINDS)}")
    if out["submission.scenario"] not in SCENARIOS:
        raise SchemaError(f"{where}: submission.scenario {out['submission.scenario']!r} is not one of {', '.join(SCENARIOS)}")
    if out["submission.mode"] not in MODES:
        raise SchemaError(f"{where}: submission.mode {out['submission.mode']!r} is not one of {', '.join(MODES)}")
    return out


def to_table(rows: Iterable[Mapping[str, Any]]):  # -> pyarrow.Table
    """Validated rows (``validate`` output) as an Arrow table in the schema's column order."""
    import pyarrow as pa

    rows = list(rows)
    schema = arrow_schema()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=schema.field(f.name).type)
                     for f in FIELDS}, schema=schema)
