"""Export the dataset (or a query's rows) in the published dataset's shape: flat dotted
columns as ``data.parquet``, ``data.csv`` and ``data.json`` (a list of objects), with a
dataset card (``README.md``) and Croissant metadata (``croissant.json``, MLCommons' dataset
format, version 1.0) that ``mlcroissant`` validates."""

from __future__ import annotations

import datetime
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from flexbench.accuracy import file_hash as _sha256
from openmlperf import schema
from openmlperf.errors import DatasetError

FORMATS = ("parquet", "csv", "json")
_MIME = {"parquet": "application/x-parquet", "csv": "text/csv", "json": "application/json"}
_CR_TYPES = {"string": "sc:Text", "large_string": "sc:Text", "double": "sc:Float", "float": "sc:Float",
             "int64": "sc:Integer", "int32": "sc:Integer", "bool": "sc:Boolean"}
LICENSE_URL = "https://www.apache.org/licenses/LICENSE-2.0"
ATTRIBUTION = ("The Open MLPerf Dataset is by FlexAI and MLCommons (Apache-2.0). MLPerf results are "
               "MLCommons' published inference results; FlexBench rows are runs of cmx's FlexBench.")

# The Croissant 1.0 JSON-LD context (the vocabulary's standard declarations).
_CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform", "equivalentProperty": "cr:equivalentProperty",
}


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    files: dict[str, Path]
    rows: int
    columns: int


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise



def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def select(dataset_dir: str | Path | None, sql: str | None, columns: str):
    from openmlperf.sql import query

    if columns not in ("all", "published"):
        raise DatasetError(f"--columns={columns}: expected all or published")
    cols = schema.PUBLISHED_COLUMNS if columns == "published" else None
    if sql:
        table = query(sql, dataset_dir)
        if cols:
            missing = [c for c in cols if c not in table.column_names]
            if missing:
                raise DatasetError(f"--columns=published: the query lacks {', '.join(missing[:5])}")
            table = table.select(list(cols))
        return table
    listing = "*" if cols is None else ", ".join(f'"{c}"' for c in cols)
    return query(f'select {listing} from results order by "result.id"', dataset_dir)


def export(out_dir: str | Path, *, dataset_dir: str | Path | None = None, sql: str | None = None,
           formats: Sequence[str] = FORMATS, columns: str = "all", name: str = "open-mlperf-dataset") -> ExportResult:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise DatasetError(f"--formats={','.join(formats)}: choose from {', '.join(FORMATS)}")
    table = select(dataset_dir, sql, columns)
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if "parquet" in formats:
        files["parquet"] = out / "data.parquet"
        _atomic(files["parquet"], lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    if "csv" in formats:
        files["csv"] = out / "data.csv"
        _atomic(files["csv"], lambda tmp: pacsv.write_csv(table, tmp))
    if "json" in formats:
        files["json"] = out / "data.json"
        rows = [{k: _json_value(v) for k, v in r.items()} for r in table.to_pylist()]
        text = json.dumps(rows, indent=1, ensure_ascii=False, default=str)
        _atomic(files["json"], lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    meta = croissant(table, files, name=name)
    files["croissant"] = out / "croissant.json"
    ctext = json.dumps(meta, indent=1)
    _atomic(files["croissant"], lambda tmp: Path(tmp).write_text(ctext, encoding="utf-8"))
    files["card"] = out / "README.md"
    card_text = card(table, files, name=name, sql=sql)
    _atomic(files["card"], lambda tmp: Path(tmp).write_text(card_text, encoding="utf-8"))
    return ExportResult(out, files, table.num_rows, table.num_columns)


def _description(col: str) -> str:
    f = schema.FIELD_BY_NAME.get(col)
    if f is None:
        return col
    return f.description + (f" (unit: {f.unit})" if f.unit else "")


def croissant(table, files: dict[str, Path], *, name: str) -> dict[str, Any]:
    """Croissant 1.0 metadata: one FileObject per data file (with its sha256) and one
    RecordSet whose fields read the columns of the CSV (or the first file written)."""
    source_fmt = "csv" if "csv" in files else next(iter(files))
    dist = []
    for fmt in FORMATS:
        if fmt in files:
            p = files[fmt]
            dist.append({"@type": "cr:FileObject", "@id": p.name, "name": p.name, "contentUrl": p.name,
                         "encodingFormat": _MIME[fmt], "sha256": _sha256(p),
                         "description": f"the rows as {fmt.upper()}"})
    fields = []
    for field in table.schema:
        dtype = _CR_TYPES.get(str(field.type))
        if dtype is None:
            continue
        fields.append({"@type": "cr:Field", "@id": f"results/{field.name}", "name": field.name,
                       "description": _description(field.name), "dataType": dtype,
                       "source": {"fileObject": {"@id": files[source_fmt].name},
                                  "extract": {"column": field.name}}})
    return {
        "@context": _CONTEXT,
        "@type": "sc:Dataset",
        "name": name,
        "description": ("MLPerf inference results and FlexBench runs in one table, one row per result, with "
                        f"provenance (schema version {schema.SCHEMA_VERSION}). " + ATTRIBUTION),
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "citeAs": ("Altunay and Fursin, Framing AI System Benchmarking as a Learning Task: FlexBench and the "
                   "Open MLPerf Dataset, arXiv:2509.11413"),
        "license": LICENSE_URL,
        "url": "https://huggingface.co/datasets/ctuning/OpenMLPerf",
        "version": f"{schema.SCHEMA_VERSION}.0.0",
        "datePublished": datetime.date.today().isoformat(),
        "creator": [{"@type": "sc:Organization", "name": "FlexAI"}, {"@type": "sc:Organization", "name": "MLCommons"}],
        "distribution": dist,
        "recordSet": [{"@type": "cr:RecordSet", "@id": "results", "name": "results",
                       "description": "one row per benchmark result", "field": fields}],
    }


def card(table, files: dict[str, Path], *, name: str, sql: str | None) -> str:
    """The dataset card: what the export holds, where it comes from, its licence and fields."""
    import pyarrow.compute as pc

    counts: list[str] = []
    for col in ("provenance.source_kind", "submission.round", "submission.scenario", "metrics.units"):
        if col in table.column_names and table.num_rows:
            vc = pc.value_counts(table.column(col)).to_pylist()
            counts.append(f"- `{col}`: " + ", ".join(f"{d['values']} {d['counts']}" for d in
                                                     sorted(vc, key=lambda d: -d["counts"])))
    fields = "\n".join(f"| `{f.name}` | {f.type} | {_description(f.name)} |" for f in table.schema)
    listed = "\n".join(f"- `{p.name}`" for k, p in files.items() if k in FORMATS)
    return f"""---
license: apache-2.0
pretty_name: {name}
tags: [mlperf, benchmark, inference, llm]
---

# {name}

MLPerf inference results and FlexBench runs, one row per result, exported by cmx
(`export,dataset`; schema version {schema.SCHEMA_VERSION}, documented field by field in cmx's
`docs/dataset.md`). The first 48 columns are those of the published Open MLPerf Dataset, with the
same names and meanings.

**Licence and attribution.** Apache-2.0. {ATTRIBUTION}

## Contents

{table.num_rows} rows × {table.num_columns} columns{f", selected by: `{sql}`" if sql else ""}.

{chr(10).join(counts) or "- (empty)"}

Files:

{listed}
- `croissant.json`: Croissant 1.0 metadata (validate with `mlcroissant validate --jsonld croissant.json`)

## Provenance

Every row says where it came from: `provenance.source_kind` (`mlperf-round`, `flexbench-run`,
`published-dataset`, `contribution`), `provenance.source` (URL or path), `provenance.commit`,
`provenance.files`, the cmx version, and for FlexBench runs the lockfile digest and the command
that reproduces the run. `result.id` is a stable identity used for deduplication.

## Caveats

- CPU-only systems are kept; their `metrics.result_per_accelerator` is null.
- FlexBench runs are not MLPerf submissions: short runs and runs on small models are not
  comparable with 10-minute MLPerf results; check `loadgen.min_duration` and `metrics.valid`.

## Fields

| field | type | meaning |
|---|---|---|
{fields}
"""
