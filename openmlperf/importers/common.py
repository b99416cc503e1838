"""What every importer shares: the import report, validation and the atomic commit.

An importer yields ``Candidate`` rows (or ``Skip`` records). ``commit`` validates every
candidate against the schema (a row that does not fit becomes a skip, never a half row),
drops rows another source already holds, and writes the source's file in one atomic
replace. The report lists every skipped file with its reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from openmlperf import schema
from openmlperf.errors import SchemaError
from openmlperf.storage import SourceRef, Store


@dataclass(frozen=True)
class Skip:
    file: str
    reason: str


@dataclass(frozen=True)
class Candidate:
    where: str  # file (and row) the values came from, for error messages
    row: Mapping[str, Any]


@dataclass
class ImportReport:
    source: str
    kind: str
    path: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    rows_added: int = 0
    duplicates_in_source: int = 0
    duplicates_elsewhere: int = 0
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "kind": self.kind, "path": self.path, "rows_read": self.rows_read,
            "rows_stored": self.rows_stored, "rows_added": self.rows_added,
            "duplicates_in_source": self.duplicates_in_source, "duplicates_elsewhere": self.duplicates_elsewhere,
            "skipped": [{"file": s.file, "reason": s.reason} for s in self.skipped],
            "notes": list(self.notes), **self.extra,
        }

    def summary_line(self) -> str:
        return (f"{self.kind} {self.source}: {self.rows_stored} rows stored ({self.rows_added} new), "
                f"{len(self.skipped)} skipped, {self.duplicates_elsewhere} already in another source")


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cmx_version() -> str:
    from cmx import __version__

    return __version__


def commit(store: Store, ref: SourceRef, items: Iterable[Candidate | Skip], *,
           info: Mapping[str, Any] | None = None) -> ImportReport:
    """Validate, deduplicate and store ``items`` as the rows of ``ref``."""
    import pyarrow.parquet as pq

    report = ImportReport(source=ref.location, kind=ref.kind)
    stamp, version = now_iso(), cmx_version()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Skip):
            report.skipped.append(item)
            continue
        report.rows_read += 1
        raw = dict(item.row)
        raw.setdefault("schema_version", schema.SCHEMA_VERSION)
        raw.setdefault("provenance.cmx_version", version)
        raw.setdefault("provenance.imported_at", stamp)
        try:
            row = schema.validate(raw, item.where)
        except SchemaError as exc:
            report.skipped.append(Skip(item.where, str(exc)))
            continue
        if row["result.id"] in seen:
            report.duplicates_in_source += 1
            continue
        seen.add(row["result.id"])
        rows.append(row)
    path = store.path_for(ref)
    elsewhere = store.stored_elsewhere(seen, exclude=path)
    if elsewhere:
        report.duplicates_elsewhere = len(elsewhere)
        rows = [r for r in rows if r["result.id"] not in elsewhere]
    before: set[str] = set()
    if path.exists():
        before = set(pq.read_table(path, columns=["result.id"]).column("result.id").to_pylist())
    report.rows_added = sum(1 for r in rows if r["result.id"] not in before)
    report.rows_stored = len(rows)
    if rows or path.exists():
        store.write_source(ref, schema.to_table(rows), {**(info or {}), "imported_at": stamp})
    report.path = str(path)
    return report
