"""The `runs` automation: list and remove the work folders of recipes that are not cached
(`cache/runs/<alias>-<date>-<time>-<key8>[~n]/`), FlexBench results among them."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, NamedTuple

from cmx.automation import Context, Flag, declare
from cmx.cache.store import Store
from cmx.errors import CacheError, UsageError

_NAME = re.compile(r"^(?P<alias>.+)-(?P<date>\d{8})-(?P<time>\d{6})-(?P<key>[0-9a-f]{8})(?:~\d+)?$")
RESULT_SCHEMA = "flexbench-result/"


class Run(NamedTuple):  # a NamedTuple: automation modules are not in sys.modules, which dataclasses need
    path: Path
    alias: str
    started: float
    running: bool
    result_path: Path | None
    result: dict[str, Any] | None  # the FlexBench result.json, when the run has one

    @property
    def id(self) -> str:
        return self.path.name


def _result(folder: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The FlexBench result.json in the run folder or one or two levels below (`flexbench/`)."""
    candidates = [folder / "result.json"] + sorted(folder.glob("*/result.json")) + sorted(folder.glob("*/*/result.json"))
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and str(data.get("schema", "")).startswith(RESULT_SCHEMA):
            return path, data
    return None, None


def _runs(store: Store) -> list[Run]:
    out = []
    for path in store.run_dirs():
        m = _NAME.match(path.name)
        if m:
            started = time.mktime(time.strptime(m["date"] + m["time"], "%Y%m%d%H%M%S"))
            alias = m["alias"]
        else:
            started, alias = path.stat().st_mtime, path.name
        result_path, result = _result(path)
        out.append(Run(path, alias, started, store.run_in_use(path), result_path, result))
    return out


def _summary(run: Run) -> dict[str, Any]:
    s = (run.result or {}).get("summary") or {}
    status = "running" if run.running else (str(run.result.get("status")) if run.result else None)
    valid = s.get("valid")
    rouge = s.get("rouge") if isinstance(s.get("rouge"), dict) else {}
    return {
        "id": run.id, "alias": run.alias, "path": str(run.path), "started": run.started, "running": run.running,
        "result": str(run.result_path) if run.result_path else None, "status": status,
        "valid": valid if isinstance(valid, bool) else None, "scenario": s.get("scenario"),
        "samples_per_second": s.get("samples_per_second"), "tokens_per_second": s.get("tokens_per_second"),
        "rougeL": rouge.get("rougeL"),
    }


def _headline(row: dict[str, Any]) -> str:
    if row["result"] is None:
        return "running" if row["running"] else "-"
    parts = [row["status"] or "?", {True: "VALID", False: "INVALID"}.get(row["valid"], "-")]
    if row["scenario"]:
        parts.append(str(row["scenario"]))
    for field, unit in (("samples_per_second", "samples/s"), ("tokens_per_second", "tokens/s")):
        if isinstance(row[field], (int, float)):
            parts.append(f"{row[field]:.2f} {unit}")
    if isinstance(row["rougeL"], (int, float)):
        parts.append(f"ROUGE-L {row['rougeL']:.2f}")
    return " ".join(parts)


def _select(i: dict[str, Any], runs: list[Run], *, unique: bool) -> list[Run]:
    """Runs named by positional arguments (a folder name or its start, or a recipe alias) and
    ``--tags`` (recipe aliases, comma-separated); every run without either."""
    args = [str(a) for a in i.get("artifacts") or []]
    aliases = [t for t in str(i.get("tags") or "").split(",") if t]
    if not args and not aliases:
        return runs
    picked: dict[str, Run] = {}
    for alias in aliases:
        picked.update((r.id, r) for r in runs if r.alias == alias)
    for arg in args:
        by_alias = [r for r in runs if r.alias == arg]
        exact = [r for r in runs if r.id == arg]
        found = exact or by_alias or [r for r in runs if r.id.startswith(arg)]
        if not found:
            raise UsageError(f"no run folder named or starting with '{arg}', and no run of a recipe '{arg}'",
                             hint="list them with `cmx show runs`")
        if unique and not exact and not by_alias and len(found) > 1:
            raise UsageError(f"'{arg}' is ambiguous: it starts {len(found)} run folders:\n"
                             + "\n".join(f"  {r.id}" for r in found), hint="give more of the folder name")
        picked.update((r.id, r) for r in found)
    return [r for r in runs if r.id in picked]


ALIASES = Flag("tags", "tags", "runs of these recipes (aliases, comma-separated)", example="--tags=run-flexbench")


@declare("List the run folders of recipes that are not cached (cache/runs/), oldest first; a FlexBench run "
         "shows its status, LoadGen validity, scenario, samples/s, tokens/s and ROUGE-L from its result.json.",
         ALIASES, args="[ID | ID-START | ALIAS ...]", example="cmx show runs run-flexbench",
         details="With -j, stdout is a plain JSON list of {id, alias, path, started, running, result, status, "
                 "valid, scenario, samples_per_second, tokens_per_second, rougeL}.")
def show(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """List the run folders of recipes that are not cached (cache/runs/): `cmx show runs [ID | ALIAS …] [-j]`.
    A FlexBench run shows its status, LoadGen validity and headline figures from its result.json.
    Example: cmx show runs run-flexbench"""
    rows = [_summary(r) for r in _select(i, _runs(ctx.engine.store), unique=False)]
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["started"]))
        ctx.say(f"{row['id']:<56} {when}  {_headline(row)}")
    if not rows:
        ctx.say("no run folders")
    return {"list": rows, "json_output": rows}


@declare("Remove run folders (never prompts: -f confirms); a folder a run still works in is refused.",
         ALIASES, Flag("all", "bool", "every run folder"),
         Flag("force", "bool", "really remove", aliases=("f",), short="f"),
         Flag("dry-run", "bool", "only list what would be removed", aliases=("fake_run",), short="n"),
         args="ID | ID-START | ALIAS ...", example="cmx rm runs run-flexbench-20261205-031102 -f")
def rm(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Remove run folders: `cmx rm runs ID|ALIAS … -f` (or `--all -f`); -n only lists them.
    A run still running is refused (exit 1). Example: cmx rm runs print-hello-world-20261205 -f"""
    if not (i.get("artifacts") or i.get("tags") or i.get("all")):
        raise UsageError("which runs? give a run folder name (or its start), a recipe alias, or --all",
                         hint="list them with `cmx show runs`")
    store = ctx.engine.store
    runs = _select(i, _runs(store), unique=True)
    dry = bool(i.get("dry_run"))
    if runs and not (i.get("f") or i.get("force") or dry):
        raise UsageError(f"{len(runs)} run folder{'s' if len(runs) != 1 else ''} would be removed; add -f to confirm",
                         hint="cmx never prompts; preview with `cmx show runs ...`")
    running = [r.id for r in runs if r.running]
    if running and not dry:
        raise CacheError(f"nothing removed: still running: {', '.join(running)}", hint="try again when it has finished")
    removed = []
    for r in runs:
        if not dry:
            store.remove_run(r.path)
            removed.append(r.id)
        ctx.say(f"{'would remove' if dry else 'removed'} {r.id}")
    return {"removed": removed, "would_remove": [r.id for r in runs] if dry else []}


ACTIONS = {"show": show, "find": show, "list": show, "rm": rm}
