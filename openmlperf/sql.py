"""SQL over the dataset with DuckDB (embedded, no server): the table is called ``results``.

``query(sql)`` returns a ``pyarrow.Table`` (``.to_pandas()`` gives a DataFrame when pandas
is installed); ``connect()`` gives a DuckDB connection with the ``results`` view for
repeated queries. Column names contain dots, so quote them: ``"metrics.result"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openmlperf.errors import DatasetError
from openmlperf.schema import arrow_schema
from openmlperf.storage import Store, _sql_str

TABLE = "results"


def connect(dataset_dir: str | Path | None = None, *, files: list[Path] | None = None):
    """A DuckDB connection whose ``results`` view reads every stored source file."""
    import duckdb

    store = Store(dataset_dir)
    store.check_versions()
    files = store.source_files() if files is None else files
    con = duckdb.connect()
    if files:
        listing = "[" + ", ".join(_sql_str(str(p)) for p in files) + "]"
        con.execute(f"create view {TABLE} as select * from read_parquet({listing}, union_by_name=true)")
    else:
        con.register(TABLE, arrow_schema().empty_table())
    return con


def run(con: Any, sql: str):
    """Run ``sql`` on ``con``; a pyarrow.Table (empty for a statement without rows)."""
    import duckdb
    import pyarrow as pa

    try:
        rel = con.sql(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise DatasetError(f"--sql: {first}") from None
    if rel is None:
        return pa.table({})
    return rel.to_arrow_table()


def query(sql: str, dataset_dir: str | Path | None = None):
    """``sql`` over the dataset, as a ``pyarrow.Table``."""
    if not sql or not str(sql).strip():
        raise DatasetError("--sql: empty query (e.g. --sql=\"select count(*) as n from results\")")
    con = connect(dataset_dir)
    try:
        return run(con, sql)
    finally:
        con.close()


def format_table(table, max_rows: int = 40, max_width: int = 40) -> str:
    """A plain-text table of the first ``max_rows`` rows."""
    cols = table.column_names
    rows = table.slice(0, max_rows).to_pylist()

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            text = f"{v:.6g}"
        else:
            text = str(v)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    grid = [[cell(r[c]) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(g[i]) for g in grid]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(g, widths)) for g in grid]
    more = table.num_rows - len(rows)
    lines.append(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''}"
                 + (f", first {len(rows)} shown)" if more > 0 else ")"))
    return "\n".join(lines)


def to_json_rows(table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (decimals and dates become numbers and strings)."""
    import datetime
    import decimal

    out = []
    for r in table.to_pylist():
        for k, v in r.items():
            if isinstance(v, decimal.Decimal):
                r[k] = float(v)
            elif isinstance(v, (datetime.date, datetime.datetime, datetime.time, datetime.timedelta)):
                r[k] = str(v)
            elif isinstance(v, bytes):
                r[k] = v.hex()
        out.append(r)
    return out
