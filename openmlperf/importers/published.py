"""``import,open-mlperf-dataset``: the published Open MLPerf Dataset (``data.parquet`` or
``data.json``, 48 dotted columns, by FlexAI and MLCommons, Apache-2.0) as it is, mapped to
our schema. The 48 columns are kept value for value; ours are derived from them (accuracy
numbers from the accuracy string, the identity, provenance). The published rows are
checker-accepted results, so ``metrics.valid`` is true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from openmlperf import accuracy, normalize, schema
from openmlperf.errors import DatasetError
from openmlperf.importers.common import Candidate, ImportReport, Skip, commit
from openmlperf.storage import SourceRef, Store

KIND = "published-dataset"


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"--path={path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"{path}: not a readable parquet file: {exc}") from None
    if suffix in (".json", ".jsonl"):
        try:
            text = path.read_text(encoding="utf-8")
            data = ([json.loads(line) for line in text.splitlines() if line.strip()] if suffix == ".jsonl"
                    else json.loads(text))
        except (ValueError, OSError) as exc:
            raise DatasetError(f"{path}: not readable JSON: {exc}") from None
        if not isinstance(data, list):
            raise DatasetError(f"{path}: expected a JSON list of rows, got {type(data).__name__}")
        return data
    raise DatasetError(f"--path={path}: expected data.parquet or data.json (got a {suffix or 'suffixless'} file)")


def to_row(rec: Any, path: Path, index: int) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise ValueError(f"row is a {type(rec).__name__}, not an object")
    missing = [c for c in ("benchmark.version", "submission.organization", "model.name", "submission.scenario",
                           "metrics.result") if rec.get(c) in (None, "")]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    row: dict[str, Any] = {c: rec.get(c) for c in schema.PUBLISHED_COLUMNS}
    version = str(rec["benchmark.version"])
    rid, ident = schema.identity(round="v" + version.lstrip("v"), division=rec.get("submission.division"),
                                 submitter=rec["submission.organization"], system=rec.get("system.name"),
                                 benchmark=rec["model.name"], scenario=rec["submission.scenario"],
                                 mode="performance", published_uid=rec.get("submission.debug_uid") or index)
    metrics = accuracy.parse_string(rec.get("metrics.accuracy"))
    result = rec.get("metrics.result")
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        raise ValueError(f"metrics.result is not a number: {result!r}")
    units = rec.get("metrics.units")
    row.update(accuracy.columns(metrics))
    row.update({
        "result.id": rid, "result.identity": ident,
        "submission.mode": "performance", "submission.round": "v" + version.lstrip("v"),
        "metrics.valid": True, "metrics.validity": "VALID", "metrics.invalid_reasons": "",
        "metrics.result_per_node": normalize.per_unit(result, normalize.integer(rec.get("system.number_of_nodes"))),
        "metrics.tokens_per_second": result if units == "Tokens/s" else None,
        "provenance.source_kind": KIND, "provenance.source": str(path),
        "provenance.files": json.dumps([f"{path.name}#{index}"]),
    })
    return row


def candidates(path: Path) -> Iterator[Candidate | Skip]:
    for i, rec in enumerate(read_rows(path)):
        where = f"{path}#row{i}"
        try:
            yield Candidate(where, to_row(rec, path, i))
        except (ValueError, TypeError) as exc:
            yield Skip(where, str(exc))


def import_file(path: str | Path, dataset_dir: str | Path | None = None) -> ImportReport:
    path = Path(path).expanduser().resolve()
    store = Store(dataset_dir)
    items = list(candidates(path))  # read fully first: a bad file raises before anything is written
    return commit(store, SourceRef(KIND, str(path)), items, info={"file": path.name})
