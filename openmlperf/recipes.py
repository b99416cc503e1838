"""The glue between the dataset recipes (``scripts/*/customize.py``) and this package: read
the env, call the package, print a short report, put the result in the recipe's state, and
turn ``CmxError``s into the hook's one-line error (no traceback)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from cmx.errors import CmxError

_TRUE = ("yes", "true", "on", "1")


def flag(env: dict[str, Any], key: str) -> bool:
    return str(env.get(key, "")).strip().lower() in _TRUE


def value(env: dict[str, Any], key: str) -> str:
    return str(env.get(key) or "").strip()


def guarded(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def hook(i: dict[str, Any]) -> dict[str, Any]:
        try:
            return fn(i)
        except CmxError as exc:
            return {"return": 1, "error": str(exc)}

    return hook


def required_path(env: dict[str, Any], key: str, flag_name: str, what: str) -> Path:
    from openmlperf.errors import DatasetError

    raw = value(env, key)
    if not raw:
        raise DatasetError(f"no {what}: give --{flag_name}=...")
    p = Path(raw).expanduser().resolve()
    if not p.exists():
        raise DatasetError(f"--{flag_name}={raw}: no such file or folder")
    return p


def finish_import(i: dict[str, Any], report) -> dict[str, Any]:
    """Export the report, print it, and fail when rows were skipped (unless --allow_skips)."""
    from openmlperf.storage import Store

    env, state = i["env"], i["state"]
    store = Store(value(env, "CMX_DATASET_DIR") or None)
    report_path = store.write_report(_ref(report), report.as_dict())
    data = report.as_dict()
    data["report_file"] = str(report_path)
    data["dataset_dir"] = str(store.root)
    state["dataset_import"] = data
    env["CMX_DATASET_DIR"] = str(store.root)
    env["CMX_DATASET_SOURCE_FILE"] = report.path
    env["CMX_DATASET_ROWS_STORED"] = str(report.rows_stored)
    env["CMX_DATASET_ROWS_ADDED"] = str(report.rows_added)
    env["CMX_DATASET_ROWS_SKIPPED"] = str(len(report.skipped))
    env["CMX_DATASET_IMPORT_REPORT"] = str(report_path)
    print(report.summary_line(), file=sys.stderr)
    for note in report.notes:
        print(f"  note: {note}", file=sys.stderr)
    for s in report.skipped[:20]:
        print(f"  skipped: {s.file}: {s.reason}", file=sys.stderr)
    if len(report.skipped) > 20:
        print(f"  ... {len(report.skipped) - 20} more in {report_path}", file=sys.stderr)
    if report.skipped and not flag(env, "CMX_DATASET_ALLOW_SKIPS"):
        first = report.skipped[0]
        return {"return": 1, "error": f"{len(report.skipped)} row(s) skipped (first: {first.file}: {first.reason}); "
                                      f"the other {report.rows_stored} rows were imported; report: {report_path} "
                                      f"(--allow_skips=yes to accept)"}
    return {"return": 0}


def _ref(report):
    from openmlperf.storage import SourceRef

    return SourceRef(report.kind, report.source)


# -- the recipes' hooks (each recipe's customize.py binds its ``preprocess`` to one of these) ---

@guarded
def import_published(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.importers import published

    env = i["env"]
    path = required_path(env, "CMX_DATASET_IMPORT_PATH", "path", "published dataset file")
    return finish_import(i, published.import_file(path, value(env, "CMX_DATASET_DIR") or None))


@guarded
def import_mlperf(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.importers import mlperf

    env = i["env"]
    url = value(env, "CMX_DATASET_RESULTS_URL")
    if url and not value(env, "CMX_DATASET_IMPORT_PATH"):
        env["CMX_DATASET_IMPORT_PATH"] = value(env, "CMX_GIT_CHECKOUT_PATH")
    path = required_path(env, "CMX_DATASET_IMPORT_PATH", "path", "results folder (or --url)")
    report = mlperf.import_tree(path, value(env, "CMX_DATASET_DIR") or None,
                                round_=value(env, "CMX_DATASET_ROUND") or None,
                                summary_csv=value(env, "CMX_DATASET_SUMMARY_CSV") or None, source_url=url or None)
    official = report.extra.get("official")
    if official:
        print(f"official table: {official['agree']} of {official['compared']} results agree within rounding, "
              f"{len(official['disagree'])} disagree, {len(official['not_in_official'])} not in the table",
              file=sys.stderr)
        for d in official["disagree"][:10]:
            print(f"  disagree: {d}", file=sys.stderr)
        env["CMX_DATASET_OFFICIAL_AGREE"] = str(official["agree"])
        env["CMX_DATASET_OFFICIAL_DISAGREE"] = str(len(official["disagree"]))
    return finish_import(i, report)


@guarded
def import_flexbench(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.importers import flexbench

    env = i["env"]
    return finish_import(i, flexbench.import_runs(value(env, "CMX_DATASET_IMPORT_PATH") or None,
                                                  value(env, "CMX_DATASET_DIR") or None))


@guarded
def query(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.errors import DatasetError
    from openmlperf.sql import format_table, query as run_query, to_json_rows
    from openmlperf.storage import resolve_dir

    env, state = i["env"], i["state"]
    sql = value(env, "CMX_DATASET_SQL")
    if not sql:
        raise DatasetError('no query: give --sql="select count(*) as n from results"')
    try:
        max_rows = int(value(env, "CMX_DATASET_MAX_ROWS") or 40)
    except ValueError:
        raise DatasetError(f"--max_rows={value(env, 'CMX_DATASET_MAX_ROWS')}: not an integer") from None
    root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
    table = run_query(sql, root)
    state["rows"] = to_json_rows(table)
    state["columns"] = list(table.column_names)
    state["dataset_query"] = {"sql": sql, "dataset_dir": str(root), "row_count": table.num_rows}
    env["CMX_DATASET_DIR"] = str(root)
    env["CMX_DATASET_QUERY_ROWS"] = str(table.num_rows)
    print(format_table(table, max_rows=max_rows))
    return {"return": 0}


@guarded
def export(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.export import export as run_export
    from openmlperf.storage import resolve_dir

    env, state = i["env"], i["state"]
    out = value(env, "CMX_DATASET_EXPORT_DIR") or str(Path(i["run_path"]) / "export")
    formats = [f.strip() for f in value(env, "CMX_DATASET_EXPORT_FORMATS").split(",") if f.strip()]
    root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
    res = run_export(out, dataset_dir=root, sql=value(env, "CMX_DATASET_SQL") or None, formats=formats,
                     columns=value(env, "CMX_DATASET_EXPORT_COLUMNS") or "all",
                     name=value(env, "CMX_DATASET_EXPORT_NAME") or "open-mlperf-dataset")
    state["dataset_export"] = {"dir": str(res.out_dir), "rows": res.rows, "columns": res.columns,
                               "files": {k: str(p) for k, p in res.files.items()}}
    env["CMX_DATASET_DIR"] = str(root)
    env["CMX_DATASET_EXPORT_DIR"] = str(res.out_dir)
    env["CMX_DATASET_EXPORT_ROWS"] = str(res.rows)
    print(f"exported {res.rows} rows x {res.columns} columns to {res.out_dir}: "
          + ", ".join(p.name for p in res.files.values()))
    return {"return": 0}


@guarded
def contribute(i: dict[str, Any]) -> dict[str, Any]:
    import json

    from openmlperf.bundle import contribute as pack
    from openmlperf.storage import resolve_dir

    env, state = i["env"], i["state"]
    root = resolve_dir(value(env, "CMX_DATASET_DIR") or None)
    ids = [x.strip() for x in value(env, "CMX_DATASET_IDS").split(",") if x.strip()]
    out = value(env, "CMX_DATASET_BUNDLE") or str(Path(i["run_path"]) / "bundle")
    path = pack(out, dataset_dir=root, where=value(env, "CMX_DATASET_WHERE") or None, ids=ids or None,
                contributor=value(env, "CMX_DATASET_CONTRIBUTOR") or None,
                archive=flag(env, "CMX_DATASET_BUNDLE_ARCHIVE"))
    manifest = json.loads((path / "manifest.json").read_text()) if path.is_dir() else None
    state["dataset_bundle"] = {"path": str(path), "rows": len(manifest["rows"]) if manifest else None}
    env["CMX_DATASET_DIR"] = str(root)
    env["CMX_DATASET_BUNDLE"] = str(path)
    print(f"contribution bundle: {path}")
    return {"return": 0}


@guarded
def merge(i: dict[str, Any]) -> dict[str, Any]:
    from openmlperf.bundle import merge as merge_bundle

    env = i["env"]
    path = required_path(env, "CMX_DATASET_BUNDLE", "path", "contribution bundle")
    report = merge_bundle(path, value(env, "CMX_DATASET_DIR") or None)
    env["CMX_DATASET_BUNDLE_ID"] = str(report.extra.get("bundle_id"))
    return finish_import(i, report)
