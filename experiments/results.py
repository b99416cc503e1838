"""An experiment's results: one row per point, written as CSV and Parquet, a summary and PNG plots.

A row has the point's explored values, its status, whether it was skipped as already done
(``cached``), and its figures: for a FlexBench point the headline of its ``result.json`` (which
stays where FlexBench wrote it; ``result_json`` points at it, for the Open MLPerf Dataset
importer), for any other recipe the values it exported (``env.NAME``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Callable

from cmx.errors import CmxError
from experiments.store import atomic_write

BASE_COLUMNS = ("point", "point_id", "status", "cached", "recipe_cached", "reason", "duration_s", "result_json",
                "cache_path")
_PCTS = ("p50", "p90", "p99")


def flexbench_figures(result_json: str | None) -> dict[str, Any]:
    if not result_json:
        return {}
    try:
        result = json.loads(Path(result_json).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    s = result.get("summary") or {}
    cfg = result.get("config") or {}
    row: dict[str, Any] = {
        "result_status": s.get("status"),
        "scenario": s.get("scenario"),
        "valid": s.get("valid"),
        "samples_per_second": s.get("samples_per_second"),
        "tokens_per_second": s.get("tokens_per_second"),
    }
    for name in ("latency", "ttft", "tpot"):
        d = s.get(f"{name}_ms") or {}
        for p in ("mean",) + _PCTS:
            row[f"{name}_{p}_ms"] = d.get(p)
    for k, v in (s.get("rouge") or {}).items():
        row[k] = v
    row["token_latency_source"] = s.get("token_latency_source")
    for k in ("load_mode", "concurrency", "max_in_flight", "tokens_per_second_per_user"):
        row[k] = s.get(k)
    row["peak_rss_mb"] = s.get("peak_rss_mb")
    for k in ("target_qps", "batch_size", "max_output_tokens"):
        if k in cfg:
            row[f"config_{k}"] = cfg[k]
    return row


def row_for(rec: dict[str, Any], explore_keys: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"point": rec.get("index"), "point_id": rec.get("point_id")}
    inputs = rec.get("inputs") or {}
    for k in explore_keys:
        row[k] = inputs.get(k)
    for k in BASE_COLUMNS[2:]:
        row[k] = rec.get(k)
    if rec.get("result_json"):  # the explored values stay as given (a figure may share a name)
        row.update({k: v for k, v in flexbench_figures(rec.get("result_json")).items() if k not in explore_keys})
    else:
        for k, v in sorted((rec.get("new_env") or {}).items()):
            if isinstance(v, (str, int, float, bool)):
                row[f"env.{k}"] = v
    return row


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def write_tables(rows: list[dict[str, Any]], folder: Path, name: str = "results") -> dict[str, str]:
    """NAME.csv always; NAME.parquet with pyarrow. Both replaced atomically."""
    cols = columns_of(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    out = {"csv": str(folder / f"{name}.csv")}
    atomic_write(folder / f"{name}.csv", buf.getvalue())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency; the CSV is enough without it
        return out
    cells = [{k: _cell(r.get(k)) for k in cols} for r in rows]
    for k in cols:  # one type per column: a column mixing types (a figure and a text) is text
        kinds = {type(c[k]) for c in cells if c[k] is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            for c in cells:
                c[k] = None if c[k] is None else str(c[k])
    table = pa.Table.from_pylist(cells)
    tmp = folder / f".{name}.parquet.tmp"
    pq.write_table(table, tmp)
    tmp.replace(folder / f"{name}.parquet")
    out["parquet"] = str(folder / f"{name}.parquet")
    return out


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return v


def summary_lines(rows: list[dict[str, Any]], explore_keys: list[str], extra: list[str] | None = None) -> list[str]:
    """A plain text table: point, its values, status, cached, and a few figures."""
    figures = [c for c in (extra or ["tokens_per_second", "ttft_p90_ms", "tpot_p90_ms", "valid"])
               if any(c in r for r in rows)]
    if not figures:  # another recipe: the exported values that differ between points, paths left out
        figures = [c for c in columns_of(rows) if c.startswith("env.") and len({str(r.get(c)) for r in rows}) > 1
                   and not any("/" in str(r.get(c) or "") for r in rows)][:3]
    header = ["#", *explore_keys, "status", "cached", *figures]
    table = [[_show(r.get(c)) for c in ["point", *explore_keys, "status", "cached", *figures]] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *table)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    for r in table:
        lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
    return lines


def _show(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend, or a clear error when it is not installed."""
    try:
        import matplotlib
    except ImportError as exc:
        raise CmxError("plots need matplotlib, which this Python cannot import "
                       f"({exc}); the experiment's table is written",
                       hint="pip install matplotlib (it comes with `make install`), then re-run: "
                            "finished points are reused") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(rows: list[dict[str, Any]], x: str, y: str, path: Path, group_by: list[str],
         title: str | None = None, mark: Callable[[dict[str, Any]], bool] | None = None) -> str:
    """A PNG of y against x, one line per combination of the other explored keys."""
    plt = pyplot()

    series: dict[str, list[tuple[float, float, bool]]] = {}
    for r in rows:
        xv, yv = _float(r.get(x)), _float(r.get(y))
        if xv is None or yv is None:
            continue
        label = ", ".join(f"{k}={r.get(k)}" for k in group_by if k not in (x, y)) or y
        series.setdefault(label, []).append((xv, yv, bool(mark and mark(r))))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        marked = [p for p in pts if p[2]]
        if marked:
            ax.scatter([p[0] for p in marked], [p[1] for p in marked], s=120, facecolors="none",
                       edgecolors="red", zorder=3)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{y} vs {x}")
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return str(path)


def _float(v: Any) -> float | None:
    if v is None or v == "" or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
