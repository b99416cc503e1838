"""The `cache` automation: show, rm and gc cache entries."""

from __future__ import annotations

import shutil
import time
from typing import Any

from cmx.automation import Context, Flag, declare
from cmx.cache.store import Entry, parse_duration
from cmx.errors import UsageError
from cmx.selector import parse


def _select(i: dict[str, Any], ctx: Context) -> list[Entry]:
    entries = list(ctx.engine.store.entries())
    tags = i.get("tags") or " ".join(i.get("artifacts") or [])
    if tags:
        sel = parse(str(tags))
        wanted, unwanted = set(sel.tags), set(sel.not_tags)
        variations = set(sel.variations)

        def keep(e: Entry) -> bool:
            etags = set(e.record.get("tags") or []) | {e.alias}
            return (wanted <= etags and not (unwanted & etags)
                    and variations <= set(e.record.get("variations") or []))

        entries = [e for e in entries if keep(e)]
    return entries


def _row(e: Entry) -> dict[str, Any]:
    r = e.record
    return {
        "key": e.key, "alias": e.alias, "path": str(e.path), "tags": r.get("tags"), "variations": r.get("variations"),
        "version": r.get("version"), "created": r.get("created"), "expires": r.get("expires"), "expired": e.expired,
        "probe": r.get("probe", False),
    }


def _with_dependents(selected: list[Entry], everything: list[Entry]) -> list[Entry]:
    """Removing an entry removes the entries built on top of it (they refer to its key)."""
    keys = {e.key for e in selected}
    out = list(selected)
    changed = True
    while changed:
        changed = False
        for e in everything:
            if e.key not in keys and keys & set(e.record.get("deps") or []):
                keys.add(e.key)
                out.append(e)
                changed = True
    return out


FILTER = Flag("tags", "tags", "entries whose recipe has these tags (or alias); -tag excludes; _var must be a variation",
              example="--tags=hello,_json")
DRY_RUN = Flag("dry-run", "bool", "only list what would be removed", aliases=("fake_run",), short="n")


@declare("List cache entries: key, recipe, variations, creation time and folder.", FILTER,
         args="[TAGS]", example="cmx show cache --tags=print,hello-world",
         details="With -j, stdout is a plain JSON list of {key, alias, path, tags, variations, version, created, "
                 "expires, expired, probe}.")
def show(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    rows = [_row(e) for e in _select(i, ctx)]
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"] or 0))
        var = ",".join(f"_{v}" for v in r["variations"] or [])
        ctx.say(f"{r['key'][:12]}  {r['alias']:<28} {var:<24} {when}{'  (expired)' if r['expired'] else ''}  {r['path']}")
    if not rows:
        ctx.say("no cache entries match")
    return {"list": rows, "json_output": rows}


@declare("Remove the matching entries and every entry built on top of them (never prompts: -f confirms).",
         FILTER, Flag("all", "bool", "every entry"), Flag("force", "bool", "really remove", aliases=("f",), short="f"),
         DRY_RUN, args="[TAGS]", example="cmx rm cache --tags=print,hello-world -f")
def rm(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    if not (i.get("tags") or i.get("artifacts") or i.get("all")):
        raise UsageError("which entries? give --tags=... (or --all)", hint="preview with `cmx show cache --tags=...`")
    entries = _with_dependents(_select(i, ctx), list(ctx.engine.store.entries()))
    if entries and not (i.get("force") or i.get("dry_run")):
        raise UsageError(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} would be removed; add -f to confirm",
                         hint="cmx never prompts; preview with `cmx show cache --tags=...`")
    dry = bool(i.get("dry_run"))
    for e in entries:
        if not dry:
            ctx.engine.store.remove(e)
        ctx.say(f"{'would remove' if dry else 'removed'} {e.key[:12]} {e.alias}")
    return {"removed": [] if dry else [e.key for e in entries], "would_remove": [e.key for e in entries] if dry else []}


@declare("Remove expired entries, failed builds, abandoned build folders and, when asked, old or unreferenced entries.",
         Flag("older-than", "duration", "also entries created (and run folders last changed) before then",
              example="--older-than=30d"),
         Flag("unreferenced", "bool", "also entries no other entry depends on (every top-level result!)"),
         Flag("keep-failed", "bool", "keep the failed builds in cache/.failed/"),
         DRY_RUN, example="cmx gc cache --older-than=30d -n")
def gc(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Remove expired entries, entries older than --older-than, unreferenced ones with
    --unreferenced (no other entry was built on them: top-level results included),
    failed builds, run folders older than --older-than, and build folders left by
    killed runs. -n (--dry-run) only lists what would go."""
    store = ctx.engine.store
    dry = bool(i.get("dry_run"))
    entries = list(store.entries())
    removed: list[str] = []
    cutoff = time.time() - parse_duration(str(i["older_than"])) if i.get("older_than") else None
    referenced: set[str] = set()
    for e in entries:
        referenced.update(k for k in e.record.get("deps") or [] if isinstance(k, str))
    for e in entries:
        why = None
        if e.expired:
            why = "expired"
        elif cutoff is not None and e.created < cutoff:
            why = "older than " + str(i["older_than"])
        elif i.get("unreferenced") and e.key not in referenced:
            why = "unreferenced"
        if why:
            for dependent in _with_dependents([e], entries):  # what was built on it goes too
                if dependent.key in removed:
                    continue
                if not dry:
                    store.remove(dependent)
                removed.append(dependent.key)
                reason = why if dependent is e else f"built on {e.alias} {e.key[:12]}"
                ctx.say(f"{'would remove' if dry else 'removed'} {dependent.key[:12]} {dependent.alias} ({reason})")
    folders = list(store.orphan_builds())
    if store.failed_dir.is_dir() and not i.get("keep_failed"):
        folders += list(store.failed_dir.iterdir())
    runs = ctx.engine.home.runs_dir
    if cutoff is not None and runs.is_dir():
        folders += [p for p in runs.iterdir() if p.stat().st_mtime < cutoff]
    if not dry:
        for path in folders:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(store.trash_dir, ignore_errors=True)
    orphans = sum(1 for p in folders if p.parent == store.tmp_dir)
    failed = sum(1 for p in folders if p.parent == store.failed_dir)
    old_runs = len(folders) - orphans - failed
    verb = "would remove" if dry else "removed"
    ctx.say(f"gc: {verb} {len(removed)} entries, {orphans} abandoned builds, {failed} failed builds, {old_runs} old run folders")
    return {"removed": removed, "orphan_builds": orphans, "failed_builds": failed, "old_runs": old_runs, "dry_run": dry}


ACTIONS = {"show": show, "find": show, "list": show, "rm": rm, "gc": gc}
