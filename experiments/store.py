"""The folder of one experiment: its spec, one record per finished point, logs and results.

``<cache>/experiments/<recipe>-<id>/`` where the id hashes what defines the experiment (tags,
explored values, fixed env and inputs). Records are JSON files written with an atomic rename, so
a killed experiment leaves whole records or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

RECORD_SCHEMA = "cmx-experiment-point/1"


def experiment_id(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ExperimentDir:
    def __init__(self, root: Path, home_root: Path) -> None:
        self.root = root
        self.home_root = home_root

    def create(self) -> None:
        (self.root / "points").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)

    def write_spec(self, spec: dict[str, Any]) -> None:
        atomic_write(self.root / "experiment.json", json.dumps(spec, indent=2, sort_keys=True, default=str) + "\n")

    def _point_file(self, point_id: str) -> Path:
        return self.root / "points" / f"{point_id}.json"

    def log_path(self, point_id: str) -> Path:
        return self.root / "logs" / f"{point_id}.log"

    def record(self, point_id: str) -> dict[str, Any] | None:
        """The last record of a point (ok, failed or interrupted), or None."""
        try:
            rec = json.loads(self._point_file(point_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(rec, dict) or rec.get("schema") != RECORD_SCHEMA:
            return None
        return rec

    def finished(self, point_id: str) -> dict[str, Any] | None:
        """The record of a point that finished successfully, or None."""
        rec = self.record(point_id)
        return rec if rec is not None and rec.get("status") == "ok" else None

    def save_point(self, rec: dict[str, Any]) -> None:
        atomic_write(self._point_file(rec["point_id"]),
                     json.dumps({"schema": RECORD_SCHEMA, **rec}, indent=2, sort_keys=True, default=str) + "\n")

    def save_failure(self, rec: dict[str, Any]) -> None:
        """A failed or interrupted point is recorded too (for the table and the next run's message),
        and is run again on the next run."""
        self.save_point(rec)
