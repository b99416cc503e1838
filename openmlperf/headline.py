"""The headline metric of an MLPerf inference result, as MLPerf's results table shows it,
for rounds v4.0 to v6.x: which detail-log key, which unit, and the conversion.

The checker picks a log key per scenario (``RESULT_FIELD_NEW``) and overrides it per
benchmark (``RESULT_FIELD_BENCHMARK_OVERWRITE``): LLMs report tokens/s, GPT-J's logs carry
no token counts so LoadGen infers them, SingleStream/MultiStream report the early-stopping
latency. The v6.1 overrides come from ``flexbench.mlperf.rules``; the rule for token
benchmarks of earlier rounds is written here once, by family name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from flexbench.mlperf import rules

# Benchmarks of rounds v4.0 .. v6.1 (the names results trees use), beyond the v6.1 table.
_OLDER = ("resnet50", "retinanet", "bert-99", "bert-99.9", "dlrm-v2-99", "dlrm-v2-99.9", "3d-unet-99",
          "3d-unet-99.9", "rnnt", "gptj-99", "gptj-99.9", "llama2-70b-99", "llama2-70b-99.9",
          "llama2-70b-interactive-99", "llama2-70b-interactive-99.9", "stable-diffusion-xl", "mixtral-8x7b",
          "llama3.1-405b", "llama3_1-405b", "llama3.1-405b-interactive", "llama3_1-405b-interactive", "rgat",
          "pointpainting", "llama3.1-8b", "llama3_1-8b", "llama3.1-8b-edge", "llama3_1-8b-edge",
          "deepseek-r1", "whisper", "mobilenet", "automotive-pointpainting", "llama3.1-8b-interactive",
          "deepseek-r1-interactive", "gpt-oss-120b", "dlrm-v3")
KNOWN_BENCHMARKS: frozenset[str] = frozenset(rules.BENCHMARKS) | frozenset(_OLDER)
# The checker's ``model_mapping`` of rounds v5.0-v6.x: folders spelt with an underscore (v5.1's
# Cisco, Intel, Lenovo, Supermicro trees) are results of the dotted benchmark. Applied before the
# name is taken as is, so that one benchmark is one ``model.mlperf_name`` whatever the spelling.
ROUND_ALIASES: Mapping[str, str] = {
    "llama3_1-405b": "llama3.1-405b", "llama3_1-8b": "llama3.1-8b", "llama3_1-8b-edge": "llama3.1-8b-edge",
    "llama3_1-405b-interactive": "llama3.1-405b-interactive",
}

# Families whose throughput is counted in tokens (Offline, Server, Interactive).
_TOKEN_FAMILIES = ("llama2-70b", "llama3.1-", "llama3_1-", "mixtral-8x7b", "gptj", "deepseek-r1", "gpt-oss")
_SCENARIO_UNITS = {"Offline": "Samples/s", "Server": "Queries/s", "Interactive": "Queries/s",
                   "SingleStream": "Latency (ms)", "MultiStream": "Latency (ms)"}


@dataclass(frozen=True)
class Headline:
    value: float
    units: str
    key: str


def is_known(benchmark: str) -> bool:
    return benchmark in KNOWN_BENCHMARKS


def official_name(folder: str, mapping: Mapping[str, str] | None = None) -> str:
    """The MLPerf benchmark a results folder stands for, as the checker decides it: the name
    itself, the submitter's ``model_mapping.json``, the checker's aliases, then its guesses for
    open-division variants (``…mobilenet…``/``…resnet50…`` -> resnet, ``…bert-99.9…``, ``…bert-99…``).
    ``llama3_1-405b`` and the other underscore spellings are their dotted benchmark (``ROUND_ALIASES``)."""
    if folder in ROUND_ALIASES:
        return ROUND_ALIASES[folder]
    if folder in KNOWN_BENCHMARKS:
        return folder
    mapped = (mapping or {}).get(folder) or rules.MODEL_ALIASES.get(folder)
    if mapped:
        return mapped
    if any(k in folder for k in ("mobilenet", "efficientnet", "resnet50")):
        return "resnet"
    for suffix in ("bert-99.9", "bert-99"):
        if suffix in folder:
            return suffix
    return folder


def _token_based(benchmark: str) -> bool:
    return any(benchmark.startswith(f) for f in _TOKEN_FAMILIES)


def candidates(benchmark: str, scenario: str) -> tuple[list[str], str, float]:
    """(log keys in order of preference, units, factor from the logged value to the unit)."""
    b = rules.MODEL_ALIASES.get(benchmark, benchmark)
    if scenario in ("SingleStream", "MultiStream"):
        override = rules.RESULT_FIELD_OVERRIDES.get(b, {}).get(scenario)
        unit = rules.SPECIAL_UNITS.get(b, {}).get(scenario, "Latency (ms)")
        key = override or ("early_stopping_latency_ss" if scenario == "SingleStream" else "early_stopping_latency_ms")
        return [key], unit, (1e-9 if unit == "Latency (s)" else 1e-6)
    if _token_based(b):
        if scenario == "Offline":
            keys = ["result_tokens_per_second", "result_inferred_tokens_per_second"]
        else:
            keys = ["result_completed_tokens_per_second", "result_inferred_completed_tokens_per_second"]
        if b.startswith("gptj"):
            keys.reverse()  # GPT-J's harness reports no tokens; the checker reads LoadGen's inferred rate
        return keys, "Tokens/s", 1.0
    override = rules.RESULT_FIELD_OVERRIDES.get(b, {}).get(scenario)
    if override:
        # the unit the official table prints for it (whisper's token rate is labelled Samples/s there)
        return [override], rules.SPECIAL_UNITS.get(b, {}).get(scenario, _SCENARIO_UNITS[scenario]), 1.0
    unit = rules.SPECIAL_UNITS.get(b, {}).get(scenario, _SCENARIO_UNITS[scenario])
    return [rules.RESULT_FIELD[scenario]], unit, 1.0


def headline(benchmark: str, scenario: str, values: Mapping[str, Any]) -> Headline | None:
    keys, unit, factor = candidates(benchmark, scenario)
    for key in keys:
        v = values.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return Headline(float(v) * factor, unit, key)
    return None
