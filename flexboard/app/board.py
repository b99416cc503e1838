"""What the FlexBoard pages show, as plain pandas: load the dataset, filter it, compare systems,
chart frames, cost per million tokens, a row's provenance and reproduce command.

No Streamlit here: the pages call these functions, and the browser tests run the same functions
directly to check what a page shows. See docs/flexboard.md.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from flexboard import accelerators, prices
from flexboard.errors import FlexBoardError

ID = "result.id"
THROUGHPUT = "metrics.result_per_accelerator"

# the explore table's columns, in order (the full row is on the provenance page)
EXPLORE_COLUMNS = [
    ID, "submission.round", "submission.organization", "system.name", "system.accelerator.name",
    "system.accelerator.total_count", "model.mlperf_name", "submission.scenario", "metrics.result",
    "metrics.units", THROUGHPUT, "metrics.ttft.p99", "metrics.tpot.p99", "power.energy_per_token",
    "software.framework", "submission.division", "provenance.source_kind",
]

# the filters of the explore page: (label, column)
FILTERS = (
    ("Model", "model.mlperf_name"),
    ("Accelerator", "system.accelerator.name"),
    ("Scenario", "submission.scenario"),
    ("Round", "submission.round"),
    ("Submitter", "submission.organization"),
    ("Division", "submission.division"),
    ("Source", "provenance.source_kind"),
)

# the rows of the compare page: (label, column)
COMPARE_FIELDS = (
    ("Round", "submission.round"), ("Submitter", "submission.organization"), ("Division", "submission.division"),
    ("Accelerator", "system.accelerator.name"), ("Accelerators per node", "system.accelerator.count_per_node"),
    ("Nodes", "system.number_of_nodes"), ("Accelerator memory (GB)", "system.accelerator.memory_capacity"),
    ("Interconnect", "system.interconnect.accelerator"), ("CPU", "system.cpu.model"),
    ("Framework", "software.framework"), ("Weights", "model.weight_data_types"),
    ("Result", "metrics.result"), ("Units", "metrics.units"), ("Per accelerator", THROUGHPUT),
    ("TTFT p99 (ms)", "metrics.ttft.p99"), ("TPOT p99 (ms)", "metrics.tpot.p99"),
    ("Latency p99 (ms)", "metrics.latency.p99"), ("Power (W)", "power.average"),
    ("Energy per token (J)", "power.energy_per_token"), ("Result id", ID),
)


@dataclass(frozen=True)
class Source:
    """Where the board's rows come from: a dataset folder (``--dataset_dir``, the default one when
    both are empty) or one Parquet/JSON file (``--data``) with the dataset's column names."""

    dataset_dir: str = ""
    data_file: str = ""

    def describe(self) -> str:
        if self.data_file:
            return self.data_file
        import openmlperf

        return str(openmlperf.dataset_dir(self.dataset_dir or None))

    def signature(self) -> tuple[Any, ...]:
        """Changes when the data changes (file names, sizes, mtimes): the load cache's key."""
        if self.data_file:
            files = [Path(self.data_file).expanduser()]
        else:
            import openmlperf

            root = Path(openmlperf.dataset_dir(self.dataset_dir or None)) / "sources"
            files = sorted(root.glob("*.parquet")) if root.is_dir() else []
        sig: list[Any] = [self]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            sig.append((str(f), st.st_size, st.st_mtime_ns))
        return tuple(sig)


def _read(source: Source):
    import pandas as pd

    if source.data_file:
        p = Path(source.data_file).expanduser()
        if not p.is_file():
            raise FlexBoardError(f"--data={source.data_file}: no such file")
        if p.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            try:
                df = pq.read_table(p).to_pandas()
            except (OSError, ValueError) as exc:
                raise FlexBoardError(f"--data={source.data_file}: not a readable Parquet file ({exc})") from None
        elif p.suffix.lower() == ".json":
            try:
                df = pd.DataFrame(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise FlexBoardError(f"--data={source.data_file}: not readable JSON ({exc})") from None
        else:
            raise FlexBoardError(f"--data={source.data_file}: expected a .parquet or .json file")
        if ID not in df.columns:  # the published shape: map it as the importer does, in memory
            from openmlperf.importers import published

            recs = df.to_dict("records")
            rows = []
            for i, rec in enumerate(recs):
                try:
                    rows.append(published.to_row({k: _none(v) for k, v in rec.items()}, p.resolve(), i))
                except (ValueError, TypeError):
                    continue  # a row the importer would skip
            df = pd.DataFrame(rows)
        return df
    import openmlperf

    return openmlperf.query("select * from results", source.dataset_dir or None).to_pandas()


def _none(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


_cache_lock = threading.Lock()
_cache: dict[tuple[Any, ...], Any] = {}


def load(source: Source):
    """The dataset's rows as a DataFrame (every column of the schema that the source has, plus
    ``accelerator``, the accelerator table's key). Cached per source until its files change."""
    sig = source.signature()
    with _cache_lock:
        hit = _cache.get(sig)
        if hit is not None:
            return hit
    df = _read(source)
    if len(df):
        for c in EXPLORE_COLUMNS + [c for _l, c in FILTERS] + [c for _l, c in COMPARE_FIELDS]:
            if c not in df.columns:
                df[c] = None
        keys = {n: accelerators.canonical(n) if n else "" for n in df["system.accelerator.name"].dropna().unique()}
        df["accelerator"] = df["system.accelerator.name"].map(keys).fillna("")
        df = df.reset_index(drop=True)
    with _cache_lock:
        _cache.clear()
        _cache[sig] = df
    return df


def empty_message(source: Source) -> str:
    return (f"The dataset ({source.describe()}) is empty. Import the published one with "
            "`cmx run script --tags=import,open-mlperf-dataset --path=../shared/data/open-mlperf-dataset/data.parquet`, "
            "or start the board with `--data=FILE.parquet`.")


def options(df, column: str) -> list[str]:
    """The values a filter offers: the column's distinct non-empty values, sorted."""
    if column not in df.columns:
        return []
    return sorted(str(v) for v in df[column].dropna().unique() if str(v) != "")


@dataclass(frozen=True)
class Filters:
    """The explore page's filters: for each column, the values kept (empty: all), and a text
    searched (case-insensitively) in the system name, accelerator, model and submitter."""

    chosen: tuple[tuple[str, tuple[str, ...]], ...] = ()
    text: str = ""

    @classmethod
    def of(cls, chosen: Mapping[str, Sequence[str]] | None = None, text: str = "") -> "Filters":
        items = tuple((c, tuple(str(v) for v in vals)) for c, vals in (chosen or {}).items() if vals)
        return cls(items, text.strip())

    def describe(self) -> str:
        parts = [f"{c} in ({', '.join(v)})" for c, v in self.chosen]
        if self.text:
            parts.append(f"text contains {self.text!r}")
        return " and ".join(parts) or "no filter"


def apply(df, filters: Filters):
    """The rows that pass ``filters``, in the dataset's order."""
    mask = None
    for column, values in filters.chosen:
        if column not in df.columns:
            raise FlexBoardError(f"filter on {column}: the dataset has no such column")
        m = df[column].astype("string").isin(list(values))
        mask = m if mask is None else mask & m
    if filters.text:
        needle = filters.text.lower()
        hay = None
        for c in ("system.name", "system.accelerator.name", "model.name", "submission.organization"):
            s = df[c].astype("string").str.lower().str.contains(needle, regex=False, na=False)
            hay = s if hay is None else hay | s
        mask = hay if mask is None else mask & hay
    return df if mask is None else df[mask.fillna(False).astype(bool)]


def explore_frame(df):
    """The explore table: EXPLORE_COLUMNS of the rows."""
    return df[EXPLORE_COLUMNS]


LINK = "result"  # the explore table's first column: the row's provenance page, shown as its result id
_arrow_lock = threading.Lock()
_arrow: dict[int, tuple[Any, Any]] = {}  # id(df) -> (df, its explore table as Arrow)


def explore_arrow(df, sub):
    """The explore table of ``sub`` (rows of ``df``, as ``apply`` returns them) as a pyarrow Table
    for the browser: the provenance link first, then EXPLORE_COLUMNS but the id, repeated strings
    dictionary-encoded. Built once per loaded DataFrame; a filter takes its rows (100,000 rows
    are ~4 MB instead of ~32 MB of plain strings, which the page must receive and decode)."""
    import pyarrow as pa

    with _arrow_lock:
        hit = _arrow.get(id(df))
        if hit is None or hit[0] is not df:
            t = df[EXPLORE_COLUMNS].copy()
            t.insert(0, LINK, "provenance?id=" + t[ID].astype("string"))
            t = t.drop(columns=[ID])
            for c in t.columns:
                if c != LINK and not (t[c].dtype.kind in "iufb"):
                    t[c] = t[c].astype("string").astype("category")
            table = pa.Table.from_pandas(t, preserve_index=False).replace_schema_metadata(None)
            _arrow.clear()
            _arrow[id(df)] = hit = (df, table)
    table = hit[1]
    if len(sub) == len(df):
        return table
    return table.take(pa.array(sub.index.to_numpy()))


# --- compare ------------------------------------------------------------------------------------

def default_model(df) -> str:
    """The model a page starts on: the benchmark model with the most rows (ties: the first by name)."""
    counts = df["model.mlperf_name"].dropna().astype("string").value_counts()
    if counts.empty:
        return ""
    top = counts.max()
    return sorted(str(m) for m, n in counts.items() if n == top)[0]


def systems_for(df, model: str, scenario: str) -> list[str]:
    sub = df[(df["model.mlperf_name"].astype("string") == model) & (df["submission.scenario"].astype("string") == scenario)]
    return options(sub, "system.name")


def compare(df, model: str, scenario: str, systems: Sequence[str]):
    """Side by side: one column per system, the COMPARE_FIELDS as rows. A system with several
    results for the model and scenario shows its best (highest result per accelerator)."""
    import pandas as pd

    if not systems:
        raise FlexBoardError("choose at least one system to compare")
    sub = df[(df["model.mlperf_name"].astype("string") == model) & (df["submission.scenario"].astype("string") == scenario)]
    cols: dict[str, list[Any]] = {}
    for name in systems:
        rows = sub[sub["system.name"].astype("string") == name]
        if rows.empty:
            raise FlexBoardError(f"{name}: no {model} {scenario} result")
        best = rows.sort_values(THROUGHPUT, ascending=False, na_position="last").iloc[0]
        label = name.strip() if len(rows) == 1 else f"{name.strip()} (best of {len(rows)})"
        cols[label] = [_show(best.get(c)) for _l, c in COMPARE_FIELDS]
    return pd.DataFrame(cols, index=[label for label, _c in COMPARE_FIELDS])


def _show(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


# --- charts -------------------------------------------------------------------------------------

def chart_frame(df, metric: str):
    """Rows with ``metric`` known, with the columns a chart needs. Throughput is tokens/s: rows in
    another unit (samples/s of non-LLM benchmarks, latencies) are left out of its chart."""
    cols = ["system.accelerator.name", "model.mlperf_name", "submission.scenario", "system.name", metric]
    sub = df[df[metric].notna()] if metric in df.columns else df.iloc[0:0]
    if metric == THROUGHPUT:
        sub = sub[sub["metrics.units"].astype("string") == "Tokens/s"]
    out = sub[cols].rename(columns={"system.accelerator.name": "accelerator", "model.mlperf_name": "model",
                                    "submission.scenario": "scenario", "system.name": "system", metric: "value"})
    out["value"] = out["value"].astype(float)
    return out


# --- cost ---------------------------------------------------------------------------------------

def price_rows() -> list[dict[str, Any]]:
    """The editable price table's starting rows (the defaults, with their sources); prices as text,
    so that the table takes whatever is typed and ``prices.check`` says what is wrong with it."""
    return [{"accelerator": p.key, "usd_per_hour": "" if p.usd_per_hour is None else f"{p.usd_per_hour:g}", "source": p.source, "date": p.date,
             "notes": p.notes} for p in prices.defaults()]


def cost_frame(df, price_map: Mapping[str, float | None]):
    """Tokens/s rows with the price of their accelerator and the cost per million tokens (USD);
    rows whose accelerator has no price have an empty cost."""
    sub = df[(df["metrics.units"].astype("string") == "Tokens/s") & df[THROUGHPUT].notna()]
    out = sub[[ID, "system.name", "accelerator", "system.accelerator.total_count", "model.mlperf_name",
               "submission.scenario", THROUGHPUT]].copy()
    out["usd_per_hour"] = out["accelerator"].map(lambda k: price_map.get(k))
    out["cost_per_million_tokens"] = [prices.cost_per_million_tokens(t, p) for t, p in
                                      zip(out[THROUGHPUT], out["usd_per_hour"])]
    return out.sort_values("cost_per_million_tokens", na_position="last")


# --- provenance ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Provenance:
    result_id: str
    title: str
    source_kind: str
    source: str
    files: tuple[str, ...]
    commit: str
    imported_at: str
    cmx_version: str
    reproduce: str          # the command that reproduces (FlexBench) or re-imports the row
    reproduces_run: bool    # True: the command re-runs the benchmark; False: it re-imports the row
    fields: tuple[tuple[str, str], ...] = field(default=())


def provenance(df, result_id: str) -> Provenance:
    rows = df[df[ID].astype("string") == result_id]
    if rows.empty:
        raise FlexBoardError(f"no row with result id {result_id!r} in the dataset")
    r = rows.iloc[0].to_dict()
    kind = str(r.get("provenance.source_kind") or "")
    source = str(_none(r.get("provenance.source")) or "")
    try:
        files = tuple(str(f) for f in json.loads(r.get("provenance.files") or "[]"))
    except (TypeError, ValueError):
        files = ()
    cmd = _none(r.get("provenance.reproduce"))
    run = bool(cmd)
    if not cmd:
        import shlex

        tags = {"mlperf-round": "import,mlperf,results", "flexbench-run": "import,flexbench,results",
                "published-dataset": "import,open-mlperf-dataset", "contribution": "merge,contribution"}.get(kind)
        cmd = f"cmx run script --tags={tags} --path={shlex.quote(source)}" if tags and source else ""
    title = " · ".join(str(x) for x in (r.get("system.name"), r.get("model.mlperf_name") or r.get("model.name"),
                                        r.get("submission.scenario"), r.get("submission.round")) if _none(x))
    fields = tuple((k, _show(_none(v))) for k, v in r.items() if _none(v) is not None and k != "accelerator")
    return Provenance(result_id=result_id, title=title, source_kind=kind, source=source, files=files,
                      commit=str(_none(r.get("provenance.commit")) or ""),
                      imported_at=str(_none(r.get("provenance.imported_at")) or ""),
                      cmx_version=str(_none(r.get("provenance.cmx_version")) or ""),
                      reproduce=str(cmd), reproduces_run=run, fields=fields)
