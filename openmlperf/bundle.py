"""Contribution bundles: selected rows with their provenance and the raw files they were
derived from, so that anyone can merge them into their dataset and trust the figures.

A bundle is a folder (or the same folder as ``.tar.gz``)::

    manifest.json            format, schema version, creator, the rows' ids and kinds, sha256 of every file
    rows.parquet             the rows, every column of the schema
    files/<result.id>/...    the raw files of each row (detail log, system JSON, accuracy.txt,
                             measurements, spl.txt; for FlexBench: result.json, logs, cmx-lock.json)

``merge`` checks the checksums, validates every row against the schema, re-derives every
figure (``metrics.*``, ``loadgen.*``, ``power.*``, ``accuracy.*``) and the identity from the raw
files with the importers' own code, and rejects the whole bundle when anything differs. Then
the raw files are kept under ``<dataset>/contributions/<bundle id>/`` and the rows are stored as
one source (``provenance.source_kind = contribution``), deduplicated against the dataset.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from flexbench.accuracy import file_hash as _sha256
from openmlperf import derive, schema
from openmlperf.errors import BundleRejected, DatasetError
from openmlperf.importers.common import Candidate, ImportReport, cmx_version, commit, now_iso
from openmlperf.storage import SourceRef, Store

FORMAT = "openmlperf-contribution/1"
MANIFEST = "manifest.json"
ROWS = "rows.parquet"
CONTRIBUTABLE = ("mlperf-round", "flexbench-run", "contribution")



# -- packing -----------------------------------------------------------------------------------

def _role_name(kind: str, rel: str) -> str:
    """Where a raw file goes inside ``files/<id>/`` (the name the re-derivation looks for)."""
    p = Path(rel)
    if kind == "flexbench-run":
        if p.name == "mlperf_log_detail.txt":
            return f"{p.parent.name}/mlperf_log_detail.txt"  # performance/ or accuracy/
        if p.name == "accuracy.txt":
            return "accuracy/accuracy.txt"
        return p.name  # result.json, cmx-lock.json
    if p.name in ("mlperf_log_detail.txt", "accuracy.txt", "spl.txt"):
        return p.name
    if p.parent.name == "systems" or p.name == "system.json":
        return "system.json"
    return "measurements.json"


def _raw_files(row: Mapping[str, Any]) -> list[tuple[Path, str]]:
    kind = row["provenance.source_kind"]
    where = f"row {row['result.id']} ({kind})"
    if kind not in CONTRIBUTABLE:
        raise DatasetError(f"{where}: a {kind} row carries no raw logs to re-derive its figures from; "
                           f"contribute rows imported from MLPerf results or FlexBench runs")
    source = Path(str(row["provenance.source"]))
    if not source.is_dir():
        raise DatasetError(f"{where}: its source {row['provenance.source']} is not a local folder here, so its "
                           f"raw files cannot be packed")
    out = []
    for rel in json.loads(row["provenance.files"] or "[]"):
        p = Path(rel) if Path(rel).is_absolute() else source / rel
        if not p.is_file():
            raise DatasetError(f"{where}: raw file {p} is missing")
        out.append((p, _role_name(kind if kind != "contribution" else _original_kind(row), rel)))
    if not out:
        raise DatasetError(f"{where}: no raw files recorded in provenance.files")
    return out


def _original_kind(row: Mapping[str, Any]) -> str:
    return "flexbench-run" if row.get("flexbench.run_id") else "mlperf-round"


def contribute(out: str | Path, *, dataset_dir: str | Path | None = None, where: str | None = None,
               ids: list[str] | None = None, contributor: str | None = None, archive: bool = False) -> Path:
    """Pack the selected rows and their raw files into a bundle folder (or ``.tar.gz``)."""
    from openmlperf.sql import query

    if not where and not ids:
        raise DatasetError("select rows: give --where=SQL-condition or --ids=ID,ID")
    cond = []
    if where:
        cond.append(f"({where})")
    if ids:
        cond.append('"result.id" in (' + ", ".join("'" + i.replace("'", "''") + "'" for i in ids) + ")")
    table = query("select * from results where " + " and ".join(cond) + ' order by "result.id"', dataset_dir)
    if table.num_rows == 0:
        raise DatasetError("no rows match the selection (--where/--ids)")
    rows = table.to_pylist()
    dest = Path(out).expanduser().resolve()
    if (dest.is_dir() and any(dest.iterdir())) or (dest.exists() and not dest.is_dir()):
        raise DatasetError(f"--out={dest}: exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=dest.parent))
    try:
        entries = []
        for row in rows:
            files: dict[str, str] = {}
            for src, name in _raw_files(row):
                rel = f"files/{row['result.id']}/{name}"
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, tmp / rel)
                files[name] = rel
            entries.append({"result.id": row["result.id"], "kind": _original_kind(row)
                            if row["provenance.source_kind"] == "contribution" else row["provenance.source_kind"],
                            "files": files})
        import pyarrow.parquet as pq

        pq.write_table(schema.to_table([schema.validate(r, f"row {r['result.id']}") for r in rows]), tmp / ROWS)
        checksums = {p.relative_to(tmp).as_posix(): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {"format": FORMAT, "schema_version": schema.SCHEMA_VERSION, "created_at": now_iso(),
                    "cmx_version": cmx_version(), "contributor": contributor, "rows": entries, "files": checksums}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if archive:
            target = dest if dest.name.endswith(".tar.gz") else dest.with_name(dest.name + ".tar.gz")
            part = target.with_name(f".{target.name}.part")
            with tarfile.open(part, "w:gz") as tar:
                for p in sorted(tmp.rglob("*")):
                    if p.is_file():
                        tar.add(p, arcname=p.relative_to(tmp).as_posix())
            os.replace(part, target)
            shutil.rmtree(tmp)
            return target
        if dest.is_dir():
            dest.rmdir()
        os.replace(tmp, dest)
        return dest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- merging -----------------------------------------------------------------------------------

@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The bundle's folder; an archive is extracted to a temporary folder first (no links,
    no absolute paths, nothing outside it: tarfile's ``data`` filter)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file() or not tarfile.is_tarfile(path):
        raise DatasetError(f"--path={path}: not a contribution bundle (a folder with {MANIFEST}, or its .tar.gz)")
    with tempfile.TemporaryDirectory(prefix="openmlperf-bundle-") as tmp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BundleRejected(f"{path}: unreadable archive: {exc}") from None
        yield Path(tmp)


def _check_manifest(root: Path) -> dict[str, Any]:
    mpath = root / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleRejected(f"{mpath}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleRejected(f"{mpath}: not a {FORMAT} manifest")
    if manifest.get("schema_version") != schema.SCHEMA_VERSION:
        raise BundleRejected(f"{mpath}: schema version {manifest.get('schema_version')} is not {schema.SCHEMA_VERSION}")
    listed = manifest.get("files") or {}
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {MANIFEST}
    extra = sorted(present - set(listed))
    missing = sorted(set(listed) - present)
    if extra or missing:
        raise BundleRejected(f"{root}: files not in the manifest: {extra[:3]}; listed but missing: {missing[:3]}")
    for rel, digest in listed.items():
        if _sha256(root / rel) != digest:
            raise BundleRejected(f"{root / rel}: sha256 does not match the manifest (changed after packing)")
    return manifest


def _rederive(kind: str, row: Mapping[str, Any], files: Mapping[str, str], root: Path) -> dict[str, Any]:
    if kind == "mlperf-round":
        from openmlperf.importers import mlperf

        def f(name: str) -> Path | None:
            return root / files[name] if name in files else None

        if "mlperf_log_detail.txt" not in files:
            raise ValueError("no mlperf_log_detail.txt in the bundle")
        place = mlperf.Place(row.get("submission.round") or "", row.get("submission.division") or "",
                             row["submission.organization"], row["submission.platform"], row["model.name"],
                             row["submission.scenario"], row.get("model.mlperf_name") or row["model.name"])
        return mlperf.result_row(place, mlperf.Files(f("mlperf_log_detail.txt"), f("system.json"), f("accuracy.txt"),
                                                     f("measurements.json"), f("spl.txt"), None),
                                 source="bundle", root=None, commit_sha=None)
    if kind == "flexbench-run":
        from openmlperf.importers import flexbench

        if "result.json" not in files:
            raise ValueError("no result.json in the bundle")
        rpath = root / files["result.json"]
        out = flexbench.result_row(rpath, json.loads(rpath.read_text(encoding="utf-8")), source="bundle", root=None)
        rid, ident = schema.identity(kind="flexbench", run_id=row.get("flexbench.run_id"),
                                     scenario=out["submission.scenario"], mode=out["submission.mode"])
        out["result.id"], out["result.identity"] = rid, ident
        return out
    raise ValueError(f"rows of kind {kind!r} cannot be re-derived")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _mismatches(claimed: Mapping[str, Any], derived: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    out = []
    valid_derived = schema.validate({**derived, "schema_version": schema.SCHEMA_VERSION}, "re-derived row")
    keys = set(derive.figures(valid_derived)) | set(derive.figures(claimed))
    for k in sorted(keys | {"result.id", "metrics.accuracy"}):
        if not _equal(claimed.get(k), valid_derived.get(k)):
            out.append((k, claimed.get(k), valid_derived.get(k)))
    return out


def merge(path: str | Path, dataset_dir: str | Path | None = None) -> ImportReport:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise DatasetError(f"--path={path}: no such bundle")
    store = Store(dataset_dir)
    with opened(path) as root:
        manifest = _check_manifest(root)
        bundle_id = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:16]
        try:
            rows = pq.read_table(root / ROWS).to_pylist()
        except (pa.ArrowException, OSError) as exc:
            raise BundleRejected(f"{root / ROWS}: unreadable: {exc}") from None
        entries = {e.get("result.id"): e for e in manifest.get("rows") or [] if isinstance(e, dict)}
        problems: list[str] = []
        checked: list[dict[str, Any]] = []
        for i, raw in enumerate(rows):
            where = f"{ROWS} row {i}"
            try:
                row = schema.validate({k: v for k, v in raw.items() if v is not None}, where)
            except DatasetError as exc:
                problems.append(str(exc))
                continue
            entry = entries.get(row["result.id"])
            if entry is None:
                problems.append(f"{where}: result {row['result.id']} is not in the manifest")
                continue
            try:
                derived = _rederive(entry.get("kind"), row, entry.get("files") or {}, root)
            except (ValueError, KeyError, OSError) as exc:
                problems.append(f"{where} ({row['result.id']}): cannot re-derive its figures: {exc}")
                continue
            diff = _mismatches(row, derived)
            if diff:
                k, claimed, logs = diff[0]
                problems.append(f"{where} ({row['result.id']}): {len(diff)} figure(s) do not match its logs, first "
                                f"{k}: bundle says {claimed!r}, the logs give {logs!r}")
                continue
            checked.append((row, entry))
        if problems:
            raise BundleRejected(f"{path}: rejected, nothing merged: " + "; ".join(problems[:5])
                                 + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))
        keep = store.root / "contributions" / bundle_id
        if not keep.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=".contribution-", dir=_mkdir(store.root / "contributions")))
            try:
                for rel in [*manifest["files"], MANIFEST]:
                    (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(root / rel, tmp / rel)
                os.replace(tmp, keep)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    items = []
    for row, entry in checked:
        row = dict(row)
        row.update({"provenance.source_kind": "contribution", "provenance.source": str(keep),
                    "provenance.contribution": bundle_id,
                    "provenance.files": json.dumps(sorted(entry["files"].values()))})
        items.append(Candidate(f"{path}#{row['result.id']}", row))
    report = commit(store, SourceRef("contribution", bundle_id), items, info={"bundle": str(path)})
    report.extra["bundle_id"] = bundle_id
    report.extra["contributor"] = manifest.get("contributor")
    return report


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
