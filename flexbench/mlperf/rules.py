"""The rules of MLPerf Inference round v6.1, as typed values.

Source of the numbers: ``tools/submission/submission_checker/constants.py`` of
mlcommons/inference at commit b66003e ("Require only one of server or
interactive (#2654)"), the ``"v6.1"`` entry of ``MODEL_CONFIG`` plus the module
level tables (system fields, file names, LLM latency limits, accuracy patterns).
The seeds also match what mlcommons-loadgen 6.0.17 embeds in its ``mlperf.conf``.
They are data: when the round changes, update them from that file and keep this
comment naming the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from flexbench.mlperf.errors import UnknownValueError

ROUND = "v6.1"
SOURCE_COMMIT = "b66003e"

DIVISIONS: tuple[str, ...] = ("closed", "open", "network")
STATUSES: tuple[str, ...] = ("available", "preview", "rdi")
SYSTEM_TYPES: tuple[str, ...] = ("datacenter", "edge", "datacenter,edge")
# The checker also accepts the reversed spelling; it means the same as "datacenter,edge".
SYSTEM_TYPE_ALIASES: Mapping[str, str] = MappingProxyType({"edge,datacenter": "datacenter,edge"})
SCENARIOS: tuple[str, ...] = ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
_SCENARIO_BY_LOWER = {s.lower(): s for s in SCENARIOS}

SEEDS: Mapping[str, int] = MappingProxyType(
    {
        "qsl_rng_seed": 2085463073848966840,
        "sample_index_rng_seed": 2747215439041700203,
        "schedule_rng_seed": 16159082839903944936,
    }
)
MIN_DURATION_MS = 600000
# MAX_ACCURACY_LOG_SIZE: the checker compares accuracy/mlperf_log_accuracy.json's size
# in bytes with 10 * 1024, so the accuracy log must be truncated to 10 KiB (the hash of
# the full log goes to accuracy.txt as a "hash=<sha256>" line).
MAX_ACCURACY_LOG_BYTES = 10 * 1024
# FILE_SIZE_LIMIT_MB: no file of a submission may exceed 50 MiB.
FILE_SIZE_LIMIT_BYTES = 50 * 1024 * 1024
OFFLINE_MIN_SAMPLES_PER_QUERY_DEFAULT = 24576

REQUIRED_PERF_FILES: tuple[str, ...] = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")
OPTIONAL_PERF_FILES: tuple[str, ...] = ("mlperf_log_accuracy.json",)
REQUIRED_ACC_FILES: tuple[str, ...] = (
    "mlperf_log_summary.txt",
    "mlperf_log_detail.txt",
    "accuracy.txt",
    "mlperf_log_accuracy.json",
)
REQUIRED_MEASURE_FILES: tuple[str, ...] = ("user.conf", "README.md")
REQUIRED_PERF_POWER_FILES: tuple[str, ...] = ("spl.txt",)
REQUIRED_POWER_FILES: tuple[str, ...] = (
    "client.json",
    "client.log",
    "ptd_logs.txt",
    "server.json",
    "server.log",
)
REQUIRED_POWER_MEASURE_FILES: tuple[str, ...] = ("analyzer_table.*", "power_settings.*")

SYSTEM_DESC_REQUIRED_FIELDS: tuple[str, ...] = (
    "division", "submitter", "status", "system_name", "number_of_nodes",
    "host_processor_model_name", "host_processors_per_node", "host_processor_core_count",
    "host_memory_capacity", "host_storage_capacity", "host_storage_type",
    "accelerators_per_node", "accelerator_model_name", "accelerator_memory_capacity",
    "framework", "operating_system", "system_type", "other_software_stack",
    "host_processor_frequency", "host_processor_caches", "host_memory_configuration",
    "host_processor_interconnect", "host_networking", "host_networking_topology",
    "accelerator_frequency", "accelerator_host_interconnect", "accelerator_interconnect",
    "accelerator_interconnect_topology", "accelerator_memory_configuration",
    "accelerator_on-chip_memories", "cooling", "hw_notes", "sw_notes",
    "host_network_card_count", "system_type_detail",
)
SYSTEM_DESC_MEANINGFUL_FIELDS: tuple[str, ...] = (
    "division", "submitter", "system_type", "status", "system_name", "number_of_nodes",
    "host_processor_model_name", "host_processors_per_node", "host_processor_core_count",
    "host_memory_capacity", "host_memory_configuration", "host_storage_capacity",
    "host_storage_type", "host_networking", "host_network_card_count",
    "host_networking_topology", "accelerators_per_node", "accelerator_model_name",
    "accelerator_memory_capacity", "accelerator_host_interconnect",
    "accelerator_memory_configuration", "accelerator_interconnect", "cooling", "framework",
    "operating_system", "other_software_stack",
)
SYSTEM_DESC_NUMERIC_FIELDS: tuple[str, ...] = ()
SYSTEM_DESC_POWER_FIELDS: tuple[str, ...] = (
    "power_management", "filesystem", "boot_firmware_version", "management_firmware_version",
    "other_hardware", "number_of_type_nics_installed", "nics_enabled_firmware",
    "nics_enabled_os", "nics_enabled_connected", "network_speed_mbit",
    "power_supply_quantity_and_rating_watts", "power_supply_details", "disk_drives",
    "disk_controllers", "system_power_only",
)
SYSTEM_DESC_NETWORK_FIELDS: tuple[str, ...] = (
    "is_network", "network_type", "network_media", "network_rate", "nic_loadgen",
    "number_nic_loadgen", "net_software_stack_loadgen", "network_protocol",
    "number_connections", "nic_sut", "number_nic_sut", "net_software_stack_sut",
    "network_topology",
)
# measurements.json: the checker requires these keys (checks/measurements_checks.py).
MEASUREMENTS_REQUIRED_FIELDS: tuple[str, ...] = ("input_data_types", "retraining",
                                                 "starting_weights_filename",
                                                 "weight_data_types", "weight_transformations")
# Open division: model_mapping.json at the submitter root maps custom model names.
MODEL_MAPPING_FILE = "model_mapping.json"

# Regular expressions the checker uses to read accuracy.txt, per metric (ACC_PATTERN).
ACCURACY_PATTERNS: Mapping[str, str] = MappingProxyType(
    {
        "acc": r"^(?:\{\"accuracy|accuracy)[\": ]*=?\s*([\d\.]+).*",
        "AUC": r"^AUC=([\d\.]+).*",
        "DLRM_NE": r".*metric/lifetime_ne/rating:\s*([\d\.]+).*",
        "DLRM_ACC": r".*metric/lifetime_accuracy/rating:\s*([\d\.]+).*",
        "DLRM_AUC": r".*metric/lifetime_gauc/rating:\s*([\d\.]+).*",
        "mAP": r".*(?:mAP=|'Total':)\s*([\d.]+)",
        "F1": r"^{[\"\']exact_match[\"\']\:\s*[\d\.]+,\s*[\"\']f1[\"\']\:\s*([\d\.]+)}",
        "ACCURACY": r"Word Error Rate\:.*, accuracy=([0-9\.]+)%",
        "DICE": r"Accuracy\:\s*mean\s*=\s*([\d\.]+).*",
        "ROUGE1": r".*'rouge1':\s+'?([\d.]+)'?.*",
        "ROUGE2": r".*'rouge2':\s+'?([\d.]+)'?.*",
        "ROUGEL": r".*'rougeL':\s+'?([\d.]+)'?.*",
        "ROUGELSUM": r".*'rougeLsum':\s+'?([\d.]+)'?.*",
        "GEN_LEN": r".*'gen_len':\s([\d.]+).*",
        "TOKENS_PER_SAMPLE": r".*'tokens_per_sample':\s([\d.]+).*",
        "CLIP_SCORE": r".*'CLIP_SCORE':\s+'?([\d.]+).*",
        "FID_SCORE": r".*'FID_SCORE':\s+'?([\d.]+).*",
        "exact_match": r".*'exact_match':\s([\d.]+).*",
        "vbench_score": r".*'vbench_score':\s([\d.]+).*",
        "F1_HIERARCHICAL": r'\{.*"f1":\s*([\d\.]+).*\}',
        "E2E_ACCURACY": r"Accuracy:\s*([\d\.]+)",
    }
)

# Result metric per scenario in the detail log (RESULT_FIELD_NEW / _BENCHMARK_OVERWRITE).
RESULT_FIELD: Mapping[str, str] = MappingProxyType(
    {
        "Offline": "result_samples_per_second",
        "SingleStream": "early_stopping_latency_ss",
        "MultiStream": "early_stopping_latency_ms",
        "Server": "result_completed_samples_per_sec",
        "Interactive": "result_completed_samples_per_sec",
    }
)
_TOKEN_RESULT = {"Offline": "result_tokens_per_second", "Server": "result_completed_tokens_per_second"}
RESULT_FIELD_OVERRIDES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "gpt-oss-120b": _TOKEN_RESULT,
        "llama2-70b-99.9": _TOKEN_RESULT,
        "llama3.1-8b": _TOKEN_RESULT,
        "llama3.1-8b-edge": {"Offline": "result_tokens_per_second",
                             "SingleStream": "result_90.00_percentile_latency_ns"},
        "deepseek-r1": _TOKEN_RESULT,
        "whisper": {"Offline": "result_tokens_per_second"},
    }
)

# Scenarios each system_type requires / allows, per benchmark.
_DC = "datacenter"
_EDGE = "edge"
_BOTH = "datacenter,edge"
_REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    _DC: {
        "dlrm-v3": ("Server", "Offline"),
        "3d-unet-99": ("Offline",),
        "3d-unet-99.9": ("Offline",),
        "llama3.1-8b": ("Offline",),
        "llama2-70b-99.9": ("Offline",),
        "rgat": ("Offline",),
        "whisper": ("Offline",),
        "deepseek-r1": ("Offline",),
        "gpt-oss-120b": ("Offline",),
        "qwen3-vl-235b-a22b": ("Offline",),
        "wan-2.2-t2v-a14b": ("Offline", "SingleStream"),
        "e2e-rag-qna": ("Offline",),
        "e2e-rag-db": ("Offline",),
    },
    _EDGE: {
        "resnet": ("SingleStream", "MultiStream", "Offline"),
        "bert-99": ("SingleStream", "Offline"),
        "bert-99.9": ("SingleStream", "Offline"),
        "3d-unet-99": ("SingleStream", "Offline"),
        "3d-unet-99.9": ("SingleStream", "Offline"),
        "llama3.1-8b-edge": ("SingleStream", "Offline"),
        "stable-diffusion-xl": ("SingleStream", "Offline"),
        "whisper": ("Offline",),
        "yolo-95": ("SingleStream", "MultiStream", "Offline"),
        "yolo-99": ("SingleStream", "MultiStream", "Offline"),
        "qwen3.6-27b": ("SingleStream",),
    },
    _BOTH: {
        "resnet": ("SingleStream", "MultiStream", "Offline", "Server"),
        "bert-99": ("SingleStream", "Offline"),
        "bert-99.9": ("SingleStream", "Offline"),
        "3d-unet-99": ("SingleStream", "Offline"),
        "3d-unet-99.9": ("SingleStream", "Offline"),
        "llama3.1-8b": ("Offline",),
        "llama3.1-8b-edge": ("SingleStream", "Offline"),
        "llama2-70b-99.9": ("Offline",),
        "stable-diffusion-xl": ("SingleStream", "Offline", "Server"),
        "rgat": ("Offline",),
        "deepseek-r1": ("Offline",),
        "whisper": ("Offline",),
        "gpt-oss-120b": ("Offline",),
        "qwen3-vl-235b-a22b": ("Offline",),
        "dlrm-v3": ("Offline", "Server"),
        "yolo-95": ("SingleStream", "MultiStream", "Offline"),
        "yolo-99": ("SingleStream", "MultiStream", "Offline"),
        "qwen3.6-27b": ("SingleStream",),
    },
}
_IS = ("Interactive", "Server")
_OPTIONAL: dict[str, dict[str, tuple[str, ...]]] = {
    _DC: {m: _IS for m in ("llama2-70b-99.9", "llama3.1-8b", "deepseek-r1", "gpt-oss-120b",
                           "qwen3-vl-235b-a22b")},
    _EDGE: {},
    _BOTH: {m: _IS for m in ("llama2-70b-99.9", "llama3.1-8b", "deepseek-r1", "gpt-oss-120b",
                             "qwen3-vl-235b-a22b")},
}

# (metric, value) pairs; a mapping for benchmarks whose target depends on the scenario.
_ACC_TARGET: dict[str, tuple[tuple[str, float], ...] | dict[str, tuple[tuple[str, float], ...]]] = {
    "resnet": (("acc", 76.46 * 0.99),),
    "bert-99": (("F1", 90.874 * 0.99),),
    "bert-99.9": (("F1", 90.874 * 0.999),),
    "3d-unet-99": (("DICE", 0.86170 * 0.99),),
    "3d-unet-99.9": (("DICE", 0.86170 * 0.999),),
    "llama3.1-8b": (("ROUGE1", 38.7792 * 0.99), ("ROUGE2", 15.9075 * 0.99),
                    ("ROUGEL", 24.4957 * 0.99), ("ROUGELSUM", 35.793 * 0.99),
                    ("GEN_LEN", 8167644 * 0.9)),
    "llama3.1-8b-edge": (("ROUGE1", 39.06 * 0.99), ("ROUGE2", 16.1147 * 0.99),
                         ("ROUGEL", 24.6375 * 0.99), ("ROUGELSUM", 36.124 * 0.99),
                         ("GEN_LEN", 3051113 * 0.9)),
    "llama2-70b-99.9": (("ROUGE1", 44.4312 * 0.999), ("ROUGE2", 22.0352 * 0.999),
                        ("ROUGEL", 28.6162 * 0.999), ("TOKENS_PER_SAMPLE", 294.45 * 0.9)),
    "stable-diffusion-xl": (("CLIP_SCORE", 31.68631873), ("FID_SCORE", 23.01085758)),
    "rgat": (("acc", 0.7286 * 0.99),),
    "deepseek-r1": (("exact_match", 0.99 * 81.3582), ("TOKENS_PER_SAMPLE", 0.9 * 3886.2274)),
    "whisper": (("ACCURACY", (100.0 - 2.0671) * 0.99),),
    "gpt-oss-120b": (("exact_match", 83.13 * 0.99),),
    "qwen3-vl-235b-a22b": {
        "Offline": (("F1_HIERARCHICAL", 0.7903 * 0.99),),
        "Server": (("F1_HIERARCHICAL", 0.7903 * 0.99),),
        "Interactive": (("F1_HIERARCHICAL", 0.7878 * 0.99),),
    },
    "dlrm-v3": (("DLRM_NE", 0.86687 * 0.999), ("DLRM_ACC", 0.69651 * 0.999),
                ("DLRM_AUC", 0.78663 * 0.999)),
    "yolo-95": (("mAP", 53.4 * 0.95),),
    "yolo-99": (("mAP", 53.4 * 0.99),),
    "wan-2.2-t2v-a14b": (("vbench_score", 70.48 * 0.99),),
    "e2e-rag-qna": (("E2E_ACCURACY", 33.95),),
    "e2e-rag-db": (("E2E_ACCURACY", 98),),
    "qwen3.6-27b": (("mAP", 86.23 * 0.99),),
}
_ACC_UPPER: dict[str, tuple[tuple[str, float], ...]] = {
    "stable-diffusion-xl": (("CLIP_SCORE", 31.81331801), ("FID_SCORE", 23.95007626)),
    "llama2-70b-99.9": (("TOKENS_PER_SAMPLE", 294.45 * 1.1),),
    "llama3.1-8b": (("GEN_LEN", 8167644 * 1.1),),
    "llama3.1-8b-edge": (("GEN_LEN", 3051113 * 1.1),),
    "deepseek-r1": (("TOKENS_PER_SAMPLE", 1.1 * 3886.2274),),
    "gpt-oss-120b": (("TOKENS_PER_SAMPLE", 1.1 * 9999),),
}
_PERF_SAMPLE_COUNT: dict[str, int] = {
    "resnet": 1024, "bert-99": 10833, "bert-99.9": 10833, "3d-unet-99": 43,
    "3d-unet-99.9": 43, "llama3.1-8b": 13368, "llama3.1-8b-edge": 5000,
    "llama2-70b-99.9": 24576, "stable-diffusion-xl": 5000, "rgat": 788379,
    "deepseek-r1": 4388, "whisper": 1633, "gpt-oss-120b": 6396,
    "qwen3-vl-235b-a22b": 48289, "wan-2.2-t2v-a14b": 50, "dlrm-v3": 349823,
    "yolo-95": 64, "yolo-99": 64, "e2e-rag-qna": 824, "e2e-rag-db": 2515,
    "qwen3.6-27b": 995,
}
_DATASET_SIZE: dict[str, int] = {
    "resnet": 50000, "bert-99": 10833, "bert-99.9": 10833, "3d-unet-99": 43,
    "3d-unet-99.9": 43, "llama3.1-8b": 13368, "llama3.1-8b-edge": 5000,
    "llama2-70b-99.9": 24576, "stable-diffusion-xl": 5000, "rgat": 788379,
    "deepseek-r1": 4388, "whisper": 1633, "gpt-oss-120b": 6396,
    "qwen3-vl-235b-a22b": 48289, "wan-2.2-t2v-a14b": 248, "dlrm-v3": 349823,
    "yolo-95": 1525, "yolo-99": 1525, "e2e-rag-qna": 824, "e2e-rag-db": 2515,
    "qwen3.6-27b": 995,
}
# accuracy-sample-count: only where it differs from the dataset size.
_ACC_SAMPLE_COUNT: dict[str, int | dict[str, int]] = {
    "gpt-oss-120b": 4395,
    "wan-2.2-t2v-a14b": 248,
    "qwen3.6-27b": 995,
    "qwen3-vl-235b-a22b": {"Offline": 48289, "Interactive": 8000, "Server": 48289},
}
# OFFLINE_MIN_SPQ_SINCE_V4: minimum samples per query of an Offline run.
_OFFLINE_MIN_SPQ: dict[str, int] = {
    "resnet": 24576, "bert-99": 10833, "bert-99.9": 10833, "3d-unet-99": 43,
    "3d-unet-99.9": 43, "llama3.1-8b": 13368, "llama3.1-8b-edge": 5000,
    "llama2-70b-99.9": 24576, "stable-diffusion-xl": 5000, "rgat": 788379,
    "deepseek-r1": 4388, "gpt-oss-120b": 6396, "whisper": 1633, "yolo-99": 1525,
    "yolo-95": 1525, "dlrm-v3": 349823, "qwen3-vl-235b-a22b": 48289,
    "wan-2.2-t2v-a14b": 50, "e2e-rag-qna": 824, "e2e-rag-db": 2515,
}
_LATENCY_CONSTRAINT: dict[str, dict[str, int]] = {
    "resnet": {"Server": 15000000},
    "llama3.1-8b": {"Server": 20000000000},
    "stable-diffusion-xl": {"Server": 20000000000},
    "llama2-70b-99.9": {"Server": 20000000000},
    "deepseek-r1": {"Server": 60000000000},
    "gpt-oss-120b": {"Server": 60000000000},
    "qwen3-vl-235b-a22b": {"Server": 12000000000, "Interactive": 1500000000},
    "dlrm-v3": {"Server": 60000000000},
}
_SS, _MS, _SV, _OFF = "SingleStream", "MultiStream", "Server", "Offline"
_MIN_QUERIES: dict[str, dict[str, int]] = {
    "resnet": {_SS: 1024, _MS: 270336, _SV: 270336, _OFF: 1},
    "bert-99": {_SS: 1024, _OFF: 1},
    "bert-99.9": {_SS: 1024, _OFF: 1},
    "3d-unet-99": {_SS: 1024, _OFF: 1},
    "3d-unet-99.9": {_SS: 1024, _OFF: 1},
    "llama3.1-8b": {_SS: 1024, _SV: 270336, _OFF: 1},
    "llama3.1-8b-edge": {_SS: 1024, _OFF: 1},
    "llama2-70b-99.9": {_SS: 1024, _SV: 270336, _OFF: 1},
    "stable-diffusion-xl": {_SS: 1024, _SV: 270336, _OFF: 1},
    "rgat": {_SS: 1024, _OFF: 1},
    "deepseek-r1": {_SS: 1024, _SV: 270336, _OFF: 1},
    "whisper": {_SS: 1024, _OFF: 1},
    "gpt-oss-120b": {_SS: 1024, _SV: 270336, _OFF: 1},
    "qwen3-vl-235b-a22b": {_SS: 1024, _SV: 270336, _OFF: 1},
    "dlrm-v3": {_SV: 270336, _OFF: 1},
    "wan-2.2-t2v-a14b": {_SS: 50, _OFF: 1},
    "yolo-95": {_SS: 1024, _MS: 270336, _OFF: 1},
    "yolo-99": {_SS: 1024, _MS: 270336, _OFF: 1},
    "e2e-rag-qna": {_OFF: 1},
    "e2e-rag-db": {_OFF: 1},
    "qwen3.6-27b": {_SS: 995},
}
_MS_NS = 1_000_000
# LLM_LATENCY_LIMITS: scenario -> (ttft_ns, tpot_ns), checked on the p99 values.
_LLM_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "llama2-70b-99.9": {"Server": (2000 * _MS_NS, 200 * _MS_NS),
                        "Interactive": (450 * _MS_NS, 40 * _MS_NS)},
    "llama3.1-8b": {"Server": (2000 * _MS_NS, 100 * _MS_NS),
                    "Interactive": (500 * _MS_NS, 30 * _MS_NS)},
    "deepseek-r1": {"Server": (2000 * _MS_NS, 80 * _MS_NS),
                    "Interactive": (1500 * _MS_NS, 15 * _MS_NS)},
    "gpt-oss-120b": {"Server": (3000 * _MS_NS, 80 * _MS_NS),
                     "Interactive": (2000 * _MS_NS, 15 * _MS_NS)},
}
# Config.get_llm_models(): benchmarks whose results are token based.
_LLM_MODELS = frozenset({"llama2-70b-99.9", "llama3.1-8b", "llama3.1-8b-edge", "deepseek-r1",
                         "gpt-oss-120b"})
# Compliance tests each benchmark needs (models_TEST0x); closed division only.
_COMPLIANCE: dict[str, tuple[str, ...]] = {}
for _test, _models in (
    ("TEST01", ("resnet", "bert-99", "bert-99.9", "3d-unet-99", "3d-unet-99.9",
                "stable-diffusion-xl", "rgat", "whisper", "yolo-99", "yolo-95")),
    ("TEST04", ("resnet", "stable-diffusion-xl", "wan-2.2-t2v-a14b")),
    ("TEST06", ("llama2-70b-99.9", "llama3.1-8b", "deepseek-r1")),
    ("TEST07", ("gpt-oss-120b",)),
    ("TEST09", ("gpt-oss-120b", "e2e-rag-qna")),
    ("TEST08", ("dlrm-v3",)),
):
    for _m in _models:
        _COMPLIANCE[_m] = _COMPLIANCE.get(_m, ()) + (_test,)

# model_mapping: legacy/alias names the checker maps to official names.
MODEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "mobilenet": "resnet",
        "resnet50": "resnet",
        "llama3_1-8b": "llama3.1-8b",
        "llama3_1-8b-edge": "llama3.1-8b-edge",
    }
)
BENCHMARKS: tuple[str, ...] = tuple(_DATASET_SIZE)


def _freeze(d: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Benchmark:
    """One v6.1 benchmark (the name MLPerf uses in the results tree)."""

    name: str
    dataset_size: int
    performance_sample_count: int
    accuracy_sample_count: int
    min_queries: Mapping[str, int]
    latency_constraint_ns: Mapping[str, int]
    accuracy_targets: tuple[tuple[str, float], ...]
    accuracy_upper_limits: tuple[tuple[str, float], ...]
    llm_latency_limits: Mapping[str, tuple[int, int]]
    is_llm: bool
    offline_min_samples_per_query: int
    compliance_tests: tuple[str, ...] = ()
    accuracy_targets_by_scenario: Mapping[str, tuple[tuple[str, float], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    accuracy_sample_count_by_scenario: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def required_scenarios(self, system_type: str) -> tuple[str, ...]:
        return _REQUIRED[canonical_system_type(system_type)].get(self.name, ())

    def optional_scenarios(self, system_type: str) -> tuple[str, ...]:
        return _OPTIONAL[canonical_system_type(system_type)].get(self.name, ())

    def allowed_for(self, system_type: str) -> bool:
        return self.name in benchmarks_for(system_type)

    def targets_for(self, scenario: str) -> tuple[tuple[str, float], ...]:
        """Accuracy targets for a scenario (only qwen3-vl differs per scenario)."""
        return self.accuracy_targets_by_scenario.get(canonical_scenario(scenario), self.accuracy_targets)

    def accuracy_samples_for(self, scenario: str) -> int:
        return self.accuracy_sample_count_by_scenario.get(
            canonical_scenario(scenario), self.accuracy_sample_count)

    def result_field(self, scenario: str) -> str:
        scenario = canonical_scenario(scenario)
        return RESULT_FIELD_OVERRIDES.get(self.name, {}).get(scenario, RESULT_FIELD[scenario])

    def accuracy_delta_percent(self, metric: str) -> float:
        """Allowed drift from the target in percent (checker's get_delta_perc)."""
        if self.name == "stable-diffusion-xl":
            return {"CLIP_SCORE": 1.0, "FID_SCORE": 2.0}.get(metric, 1.0)
        return 0.1 if "99.9" in self.name else 1.0


def _make(name: str) -> Benchmark:
    target = _ACC_TARGET[name]
    by_scenario: dict[str, tuple[tuple[str, float], ...]] = {}
    if isinstance(target, dict):
        by_scenario = dict(target)
        base_target = target["Offline"]
    else:
        base_target = target
    asc = _ACC_SAMPLE_COUNT.get(name, _DATASET_SIZE[name])
    asc_by: dict[str, int] = {}
    if isinstance(asc, dict):
        asc_by = dict(asc)
        asc = asc["Offline"]
    return Benchmark(
        name=name,
        dataset_size=_DATASET_SIZE[name],
        performance_sample_count=_PERF_SAMPLE_COUNT[name],
        accuracy_sample_count=asc,
        min_queries=_freeze(_MIN_QUERIES.get(name, {})),  # type: ignore[arg-type]
        latency_constraint_ns=_freeze(_LATENCY_CONSTRAINT.get(name, {})),  # type: ignore[arg-type]
        accuracy_targets=base_target,
        accuracy_upper_limits=_ACC_UPPER.get(name, ()),
        llm_latency_limits=_freeze(_LLM_LIMITS.get(name, {})),  # type: ignore[arg-type]
        is_llm=name in _LLM_MODELS,
        offline_min_samples_per_query=_OFFLINE_MIN_SPQ.get(name, OFFLINE_MIN_SAMPLES_PER_QUERY_DEFAULT),
        compliance_tests=_COMPLIANCE.get(name, ()),
        accuracy_targets_by_scenario=_freeze(by_scenario),  # type: ignore[arg-type]
        accuracy_sample_count_by_scenario=_freeze(asc_by),  # type: ignore[arg-type]
    )


_BENCHMARKS: Mapping[str, Benchmark] = MappingProxyType({n: _make(n) for n in BENCHMARKS})


def canonical_scenario(scenario: str) -> str:
    """``"offline"`` -> ``"Offline"``; raises on anything that is not a scenario."""
    found = _SCENARIO_BY_LOWER.get(str(scenario).strip().lower())
    if found is None:
        raise UnknownValueError("scenario", scenario, SCENARIOS)
    return found


def canonical_system_type(system_type: str) -> str:
    st = str(system_type).strip().lower().replace(" ", "")
    st = SYSTEM_TYPE_ALIASES.get(st, st)
    if st not in SYSTEM_TYPES:
        raise UnknownValueError("system_type", system_type, SYSTEM_TYPES)
    return st


def canonical_benchmark_name(name: str) -> str:
    """Official name for ``name`` or one of the checker's aliases; raises if unknown."""
    if name in _BENCHMARKS:
        return name
    alias = MODEL_ALIASES.get(name)
    if alias is not None:
        return alias
    raise UnknownValueError("benchmark", name, BENCHMARKS)


def benchmark(name: str) -> Benchmark:
    return _BENCHMARKS[canonical_benchmark_name(name)]


def benchmarks_for(system_type: str) -> tuple[str, ...]:
    """Benchmarks a ``system_type`` may submit (those with required or optional scenarios)."""
    st = canonical_system_type(system_type)
    names = set(_REQUIRED[st]) | set(_OPTIONAL[st])
    return tuple(n for n in BENCHMARKS if n in names)


def check_division(division: str) -> str:
    d = str(division).strip().lower()
    if d not in DIVISIONS:
        raise UnknownValueError("division", division, DIVISIONS)
    return d


def check_status(status: str) -> str:
    s = str(status).strip().lower()
    if s not in STATUSES:
        raise UnknownValueError("status", status, STATUSES)
    return s


# Units of the summary.csv "Result" column (UNIT_DICT / SPECIAL_UNIT_DICT).
UNITS: Mapping[str, str] = MappingProxyType(
    {"SingleStream": "Latency (ms)", "MultiStream": "Latency (ms)", "Offline": "Samples/s",
     "Server": "Queries/s", "Interactive": "Queries/s"}
)
_TOKENS = {"Offline": "Tokens/s", "Server": "Tokens/s", "Interactive": "Tokens/s"}
SPECIAL_UNITS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "llama3.1-8b": _TOKENS,
        "llama3.1-8b-edge": {"Offline": "Tokens/s"},
        "llama2-70b-99.9": _TOKENS,
        "deepseek-r1": _TOKENS,
        "gpt-oss-120b": _TOKENS,
        "wan-2.2-t2v-a14b": {"SingleStream": "Latency (s)"},
        "e2e-rag-qna": {"Offline": "Tasks/s"},
    }
)


def unit(benchmark_name: str, scenario: str) -> str:
    scenario = canonical_scenario(scenario)
    return SPECIAL_UNITS.get(benchmark_name, {}).get(scenario, UNITS[scenario])
