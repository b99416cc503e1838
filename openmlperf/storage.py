"""Where the dataset lives and how a source's rows are stored.

Layout of a dataset folder (default ``<CMX_HOME>/cache/dataset``, or ``$CMX_DATASET_DIR``;
recipes take ``--dataset_dir``)::

    sources/<kind>-<name>-<key12>.parquet   one file per source, replaced atomically on re-import
    reports/<same stem>.json                that source's last import report

A source is what one import reads: an MLPerf results tree, a FlexBench runs folder, a
published ``data.parquet``, a contribution bundle. Its key is a hash of its kind and its
resolved path (or URL), so importing the same source again rewrites the same file and adds
no rows. Rows whose ``result.id`` is already stored by *another* source are dropped as
duplicates, so the same result reached through two sources is stored once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from openmlperf.errors import DatasetError
from openmlperf.schema import META_KEY, SCHEMA_VERSION

SOURCES = "sources"
REPORTS = "reports"
ENV_DIR = "CMX_DATASET_DIR"


def default_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser().resolve()
    from cmx.home import current_home

    return current_home().cache_root / "dataset"


def resolve_dir(dataset_dir: str | Path | None) -> Path:
    if dataset_dir is None or str(dataset_dir).strip() == "":
        return default_dir()
    return Path(str(dataset_dir)).expanduser().resolve()


@dataclass(frozen=True)
class SourceRef:
    """One source of rows: its kind and where it is."""

    kind: str
    location: str  # resolved path or URL

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self.location}".encode()).hexdigest()[:12]

    @property
    def stem(self) -> str:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.location.rstrip("/")).name or "root")[:40]
        return f"{self.kind}-{name}-{self.key}"


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = resolve_dir(root)

    @property
    def sources_dir(self) -> Path:
        return self.root / SOURCES

    def source_files(self) -> list[Path]:
        d = self.sources_dir
        if not d.is_dir():
            return []
        return sorted(p for p in d.glob("*.parquet") if not p.name.startswith("."))

    def path_for(self, ref: SourceRef) -> Path:
        return self.sources_dir / f"{ref.stem}.parquet"

    def stored_elsewhere(self, ids: Iterable[str], exclude: Path | None = None) -> set[str]:
        """The ids among ``ids`` that files other than ``exclude`` already hold. DuckDB reads
        only the ``result.id`` column and streams it, so memory does not grow with the store."""
        others = [p for p in self.source_files() if exclude is None or p.resolve() != exclude.resolve()]
        ids = list(ids)
        if not others or not ids:
            return set()
        import duckdb
        import pyarrow as pa

        con = duckdb.connect()
        try:
            con.register("candidate_ids", pa.table({"id": pa.array(ids, type=pa.string())}))
            files = "[" + ", ".join(_sql_str(str(p)) for p in others) + "]"
            rows = con.sql(f'select distinct s."result.id" from read_parquet({files}, union_by_name=true) s '
                           f'join candidate_ids c on s."result.id" = c.id').fetchall()
        finally:
            con.close()
        return {r[0] for r in rows}

    def write_source(self, ref: SourceRef, table, info: Mapping[str, Any]) -> Path:
        """Write (or replace) the source's file atomically; ``info`` goes into the parquet metadata."""
        import pyarrow.parquet as pq

        path = self.path_for(ref)
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = str(SCHEMA_VERSION).encode()
        meta[b"openmlperf.source"] = json.dumps({"kind": ref.kind, "location": ref.location, **info},
                                                default=str).encode()
        table = table.replace_schema_metadata(meta)
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return path

    def remove_source(self, ref: SourceRef) -> bool:
        path = self.path_for(ref)
        if path.exists():
            path.unlink()
            return True
        return False

    def write_report(self, ref: SourceRef, report: Mapping[str, Any]) -> Path:
        path = self.root / REPORTS / f"{ref.stem}.json"
        text = json.dumps(report, indent=1, default=str)
        _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return path

    def check_versions(self) -> None:
        """Raise if a stored file was written by a newer schema than this code knows."""
        import pyarrow.parquet as pq

        for p in self.source_files():
            meta = pq.read_schema(p).metadata or {}
            raw = meta.get(META_KEY)
            if raw is None:
                raise DatasetError(f"{p}: not an openmlperf file (no {META_KEY.decode()} metadata)")
            if int(raw) > SCHEMA_VERSION:
                raise DatasetError(f"{p}: written with schema version {int(raw)}, newer than this cmx's "
                                   f"{SCHEMA_VERSION}; update cmx")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
