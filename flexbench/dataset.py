"""Instruction datasets in MLPerf's OpenOrca shape: ``question``, ``system_prompt``, ``response``.

Reads JSONL, JSON (a list), parquet and pickle (pandas) files. A fixed-seed
sample keeps runs comparable.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    index: int
    question: str
    system_prompt: str
    reference: str


class DatasetError(ValueError):
    pass


def _records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise DatasetError(f"{path}: expected a JSON list of records")
        return data
    if suffix in (".parquet", ".pkl", ".pickle"):
        import pandas as pd  # only for these formats

        frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_pickle(path)
        return frame.to_dict("records")
    raise DatasetError(f"{path}: unsupported dataset format '{suffix}' (jsonl, json, parquet, pkl)")


def load(path: str | Path, *, size: int | None = None, seed: int = 42, question_key: str = "question",
         system_key: str = "system_prompt", reference_key: str = "response") -> list[Sample]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    rows = _records(path)
    if not rows:
        raise DatasetError(f"{path}: no records")
    missing = [k for k in (question_key,) if k not in rows[0]]
    if missing:
        raise DatasetError(f"{path}: records have no '{missing[0]}' field (fields: {', '.join(rows[0])})")
    order = list(range(len(rows)))
    if size is not None and size < len(rows):
        order = sorted(random.Random(seed).sample(order, size))
    return [
        Sample(i, str(rows[j][question_key]), str(rows[j].get(system_key) or ""), str(rows[j].get(reference_key) or ""))
        for i, j in enumerate(order)
    ]
