"""Facts of the MLPerf Endpoints v1.0 round that the export needs (see docs/endpoints.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# the benchmark models of the round, in the form the checker requires (also the folder name)
CANONICAL_MODELS = ("llama3_1-8b", "gpt-oss-120b", "deepseek-r1", "kimi-k3", "qwen3_6-35b-a3b", "deepseek-v4_1-flash")

# published seed sets (endpoints_policies seedset.yaml, cohort 2026-10-C1): set name -> seeds
SEED_SETS: dict[str, dict[str, int]] = {
    "A": {"scheduler_rng_seed": 10487924139932647040, "sample_index_rng_seed": 586478644936801402,
          "model_seed": 9315206023656308754},
}
DEFAULT_COHORT = "2026-11-C0"

ULTRA_LOW_MAX = 32
MIN_POINTS, MAX_POINTS = 7, 32


@dataclass(frozen=True)
class Regions:
    """Inclusive concurrency ranges of the Pareto curve's regions."""

    c_min: int
    c_max: int
    low_latency: tuple[int, int]
    low_concurrency: tuple[int, int]
    med_concurrency: tuple[int, int]
    high_concurrency: tuple[int, int]
    margin: tuple[int, int]

    def region_of(self, c: int) -> str:
        for name in ("low_latency", "low_concurrency", "med_concurrency", "high_concurrency", "margin"):
            lo, hi = getattr(self, name)
            if lo <= c <= hi:
                return name
        return "submitters_choice"


def regions(c_max: int, c_min: int) -> Regions:
    """The rules' §5.5 boundaries: the span C_min..C_max cut in three equal steps of log2, rounded."""
    if c_max <= ULTRA_LOW_MAX:
        raise ValueError(f"the highest concurrency must be above {ULTRA_LOW_MAX} (it is {c_max})")
    step = math.log2(c_max - c_min) / 3
    low_end = round(c_min + 2 ** step)
    med_end = round(c_min + 2 ** (2 * step))
    return Regions(c_min, c_max, (1, c_min), (c_min + 1, low_end), (low_end + 1, med_end), (med_end + 1, c_max),
                   (c_max + 1, math.ceil(1.10 * c_max)))
