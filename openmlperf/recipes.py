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
