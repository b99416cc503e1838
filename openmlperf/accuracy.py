"""Accuracy as numbers per metric: from MLPerf's ``accuracy.txt``, from the published
``metrics.accuracy`` string, and back to that string."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from flexbench.mlperf.rules import ACCURACY_PATTERNS
from openmlperf.schema import ACCURACY_METRICS

# Metrics of earlier rounds that the v6.1 pattern table does not have (mixtral's extra
# datasets, GPT-J/llama's older ROUGE lines print the same dict shape).
_EXTRA_PATTERNS = {
    "gsm8k": r".*'gsm8k':\s+'?([\d.]+)'?.*",
    "mbxp": r".*'mbxp':\s+'?([\d.]+)'?.*",
}
_PATTERNS = {name: re.compile(p) for name, p in {**ACCURACY_PATTERNS, **_EXTRA_PATTERNS}.items()}

# MLPerf's metric names (and the published string's) -> our column suffix.
_COLUMN = {"ROUGE1": "rouge1", "ROUGE2": "rouge2", "ROUGEL": "rougel", "ROUGELSUM": "rougelsum",
           "TOKENS_PER_SAMPLE": "tokens_per_sample", "GEN_LEN": "gen_len", "acc": "acc", "mAP": "map",
           "F1": "f1", "AUC": "auc", "DICE": "dice", "ACCURACY": "word_accuracy", "CLIP_SCORE": "clip_score",
           "FID_SCORE": "fid_score", "exact_match": "exact_match", "gsm8k": "gsm8k", "gsm8k_accuracy": "gsm8k",
           "mbxp": "mbxp", "mbxp_accuracy": "mbxp"}
_COLUMNS = {m for m, _, _ in ACCURACY_METRICS}


def read_accuracy_txt(path: Path) -> dict[str, float]:
    """Every metric MLPerf's patterns find in ``accuracy.txt`` (first match per metric)."""
    found: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
        for name, pat in _PATTERNS.items():
            if name in found:
                continue
            m = pat.match(line)
            if m:
                try:
                    found[name] = float(m.group(1))
                except ValueError:
                    pass
    return found


_PAIR = re.compile(r"([A-Za-z][\w.\-]*)\s*:\s*(-?[\d.]+(?:[eE][-+]?\d+)?)")


def parse_string(text: str | None) -> dict[str, float]:
    """``"ROUGE1: 44.53  ROUGE2: 22.12"`` -> ``{"ROUGE1": 44.53, "ROUGE2": 22.12}``."""
    out: dict[str, float] = {}
    for name, value in _PAIR.findall(text or ""):
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out


def format_string(metrics: Mapping[str, float]) -> str | None:
    if not metrics:
        return None
    return "  ".join(f"{k}: {_num(v)}" for k, v in metrics.items())


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def columns(metrics: Mapping[str, float]) -> dict[str, Any]:
    """The ``accuracy.*`` columns of a metric dict (unknown metrics only in ``accuracy.metrics``)."""
    row: dict[str, Any] = {}
    for name, value in metrics.items():
        col = _COLUMN.get(name) or (name.lower() if name.lower() in _COLUMNS else None)
        if col and f"accuracy.{col}" not in row:
            row[f"accuracy.{col}"] = float(value)
    row["accuracy.metrics"] = json.dumps(dict(metrics), sort_keys=True) if metrics else None
    return row
