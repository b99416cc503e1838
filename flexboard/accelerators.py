"""The accelerator characteristics table (``flexboard/data/accelerators.csv``): one row per
accelerator seen in the dataset, each with its public source. Empty cells are unknown."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "accelerators.csv"
NUMERIC = ("memory_gb", "bandwidth_gbs", "fp16_dense_tflops", "fp8_dense_tflops", "fp4_dense_tflops",
           "tdp_w", "interconnect_gbs")


@dataclass(frozen=True)
class Accelerator:
    key: str
    vendor: str
    memory_gb: float | None
    memory_type: str
    bandwidth_gbs: float | None
    fp16_dense_tflops: float | None
    fp8_dense_tflops: float | None
    fp4_dense_tflops: float | None
    tdp_w: float | None
    interconnect: str
    interconnect_gbs: float | None
    source: str
    notes: str

    def peak_tflops(self, weight_bytes: float | None) -> float | None:
        """Dense peak for the weights' precision: fp4 -> fp4 (else fp8), fp8/int8 -> fp8, else fp16."""
        if weight_bytes is not None and weight_bytes <= 0.5 and self.fp4_dense_tflops:
            return self.fp4_dense_tflops
        if weight_bytes is not None and weight_bytes <= 1.0 and self.fp8_dense_tflops:
            return self.fp8_dense_tflops
        return self.fp16_dense_tflops


def _num(s: str) -> float | None:
    s = (s or "").strip()
    return float(s) if s else None


@lru_cache(maxsize=1)
def table() -> tuple[tuple[re.Pattern[str], Accelerator], ...]:
    rows = []
    with DATA.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            vals = {k: _num(r[k]) for k in NUMERIC}
            acc = Accelerator(key=r["key"], vendor=r["vendor"], memory_type=r["memory_type"],
                              interconnect=r["interconnect"], source=r["source"], notes=r["notes"], **vals)
            rows.append((re.compile(r["match"]), acc))
    return tuple(rows)


def by_key(key: str) -> Accelerator | None:
    for _p, a in table():
        if a.key == key:
            return a
    return None


def lookup(name: str | None) -> Accelerator | None:
    """The table row for an accelerator name as written in the dataset (case-insensitive)."""
    if not name:
        return None
    low = str(name).strip().lower()
    for _pat, acc in table():  # a table key is a name too (rtx-4090's pattern is "rtx 4090")
        if acc.key == low:
            return acc
    for pat, acc in table():
        if pat.search(low):
            return acc
    return None


def canonical(name: str | None) -> str:
    """The accelerator's table key (``h200-sxm-141gb`` for ``NVIDIA H200-SXM-141GB-CTS``), else
    the name in lower case: leave-one-accelerator-out groups by this."""
    a = lookup(name)
    return a.key if a else str(name or "none").strip().lower()
