"""The `cache` automation: show, rm and gc cache entries."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from typing import Any

from cmx import clock
from cmx.automation import Context, Flag, declare
from cmx.cache.store import BadEntry, Entry, Store, parse_duration
from cmx.errors import CacheError, UsageError
from cmx.selector import parse

_KEY_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")


def _args(i: dict[str, Any]) -> list[str]:
    return [str(a) for a in i.get("artifacts") or []]


def _by_tags(text: str, entries: list[Entry]) -> list[Entry]:
    sel = parse(text)
    wanted, unwanted = set(sel.tags), set(sel.not_tags)
    variations = set(sel.variations)

    def keep(e: Entry) -> bool:
        etags = set(e.record.get("tags") or []) | {e.alias}
        return (wanted <= etags and not (unwanted & etags)
                and variations <= set(e.record.get("variations") or []))

    return [e for e in entries if keep(e)]


def _select(i: dict[str, Any], entries: list[Entry], *, unique: bool = False) -> list[Entry]:
    """Entries named by ``--tags`` and by positional arguments: each argument is a key prefix
    (4 or more hex digits, as `show cache` prints them) when it matches keys, else a selector.
    With ``unique``, a key prefix must name exactly one entry."""
    picked: dict[str, Entry] = {}
    if i.get("tags"):
        picked.update((e.key, e) for e in _by_tags(str(i["tags"]), entries))
    for arg in _args(i):
        by_key = [e for e in entries if e.key.startswith(arg.lower())] if _KEY_PREFIX.match(arg.lower()) else []
        if by_key:
            if unique and len(by_key) > 1:
                raise UsageError(f"key prefix '{arg}' is ambiguous: it matches {len(by_key)} entries:\n"
                                 + "\n".join(f"  {e.key[:16]}  {e.alias} {_variations(e)}" for e in by_key),
                                 hint="give more digits of the key")
            picked.update((e.key, e) for e in by_key)
            continue
        found = _by_tags(arg, entries) if not _KEY_PREFIX.match(arg.lower()) or "," in arg else []
        if not found and _KEY_PREFIX.match(arg.lower()):
            raise UsageError(f"no cache entry has a key starting with '{arg}'",
                             hint="list the entries and their keys with `cmx show cache`")
        picked.update((e.key, e) for e in found)
    if not i.get("tags") and not _args(i):
        return list(entries)
    return [e for e in entries if e.key in picked]


def _variations(e: Entry) -> str:
    return ",".join(f"_{v}" for v in e.record.get("variations") or [])


def _short(value: Any, width: int = 32) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _differences(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """Per key, what tells it apart from the other entries of the same recipe and variations:
    the version, env and inputs that differ, the recipe's content, the dependencies."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.alias, _variations(e)), []).append(e)
    out: dict[str, dict[str, Any]] = {e.key: {} for e in entries}
    for group in groups.values():
        if len(group) < 2:
            continue
        facets: list[dict[str, Any]] = []
        for e in group:
            m = e.record.get("material") if isinstance(e.record.get("material"), dict) else {}
            f: dict[str, Any] = {"version": e.record.get("version")}
            f.update({f"env.{k}": v for k, v in (m.get("env") or {}).items()})
            f.update({f"--{k}": v for k, v in (m.get("inputs") or {}).items()})
            f["recipe"] = str((m.get("recipe") or {}).get("digest", ""))[:12]
            f["deps"] = ",".join(str(d[2])[:18] for d in m.get("deps") or [] if isinstance(d, list) and len(d) > 2)
            facets.append(f)
        names = sorted({k for f in facets for k in f})
        differing = [k for k in names if len({repr(f.get(k)) for f in facets}) > 1]

        def partition(k: str) -> frozenset[frozenset[int]]:
            by_value: dict[str, set[int]] = {}
            for n, f in enumerate(facets):
                by_value.setdefault(repr(f.get(k)), set()).add(n)
            return frozenset(frozenset(v) for v in by_value.values())

        env_parts = {partition(k) for k in differing if k.startswith("env.")}
        # an input mapped to an env key splits the entries exactly as that key does: show the env only
        differing = [k for k in differing if not (k.startswith("--") and partition(k) in env_parts)]
        for e, f in zip(group, facets):
            diff = {k: f.get(k) for k in differing}
            if "deps" in diff:
                diff["deps"] = "differ" if f.get("deps") else None
            out[e.key] = diff
    return out


def _row(e: Entry, differs: dict[str, Any] | None = None) -> dict[str, Any]:
    r = e.record
    return {
        "key": e.key, "alias": e.alias, "path": str(e.path), "tags": r.get("tags"), "variations": r.get("variations"),
        "version": r.get("version"), "created": r.get("created"), "expires": r.get("expires"), "expired": e.expired,
        "probe": r.get("probe", False), "differs": differs or {},
    }


def _warn_unusable(bad: list[BadEntry]) -> None:
    for b in bad:
        print(f"cmx: warning: unusable cache entry {b.path}: {b.reason} (never served; `cmx gc cache` removes it)",
              file=sys.stderr)


def _scan(store: Store) -> tuple[list[Entry], list[BadEntry]]:
    good: list[Entry] = []
    bad: list[BadEntry] = []
    for found in store.scan():
        (good if isinstance(found, Entry) else bad).append(found)
    return good, bad


FILTER = Flag("tags", "tags", "entries whose recipe has these tags (or alias); -tag excludes; _var must be a variation",
              example="--tags=hello,_json")
DRY_RUN = Flag("dry-run", "bool", "only list what would be removed", aliases=("fake_run",), short="n")


@declare("List cache entries: key, recipe, variations, creation time, folder, and what tells entries of the same "
         "recipe apart (version, env, inputs, recipe content, dependencies).", FILTER,
         args="[KEY-PREFIX | TAGS ...]", example="cmx show cache --tags=print,hello-world",
         details="With -j, stdout is a plain JSON list of {key, alias, path, tags, variations, version, created, "
                 "expires, expired, probe, ...}.")
def show(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """List cache entries: `cmx show cache [KEY-PREFIX | TAGS …] [--tags=…] [-j]`.
    Entries of the same recipe and variations show what tells them apart (version, env, inputs,
    recipe content, dependencies). Example: cmx show cache --tags=print,hello-world"""
    entries, bad = _scan(ctx.engine.store)
    _warn_unusable(bad)
    selected = _select(i, entries)
    differs = _differences(selected)
    rows = [_row(e, differs.get(e.key)) for e in selected]
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"] or 0))
        var = ",".join(f"_{v}" for v in r["variations"] or [])
        version = f"v{r['version']}" if r["version"] else "-"
        diff = " ".join(f"{k.removeprefix('env.')}={_short(v)}" for k, v in r["differs"].items() if k != "version")
        ctx.say(f"{r['key'][:12]}  {r['alias']:<28} {var:<20} {version:<10} {when}"
                f"{'  (expired)' if r['expired'] else ''}  {diff + '  ' if diff else ''}{r['path']}")
    if not rows:
        ctx.say("no cache entries match")
    return {"list": rows, "json_output": rows}


def _with_dependents(selected: list[Entry], everything: list[Entry]) -> list[Entry]:
    """Removing an entry removes the entries built on top of it (they refer to its key)."""
    keys = {e.key for e in selected}
    out = list(selected)
    changed = True
    while changed:
        changed = False
        for e in everything:
            if e.key not in keys and keys & set(e.deps):
                keys.add(e.key)
                out.append(e)
                changed = True
    return out


def _dependents_first(entries: list[Entry]) -> list[Entry]:
    """An order in which no entry is removed before an entry built on it."""
    left = {e.key: e for e in entries}
    out: list[Entry] = []
    while left:
        ready = [e for e in left.values() if not any(e.key in o.deps for o in left.values() if o is not e)]
        ready = ready or list(left.values())  # a cycle cannot happen; never loop forever anyway
        for e in ready:
            out.append(e)
            del left[e.key]
    return out


@declare("Remove the matching entries and every entry built on top of them (never prompts: -f confirms).",
         FILTER, Flag("all", "bool", "every entry"), Flag("force", "bool", "really remove", aliases=("f",), short="f"),
         DRY_RUN, args="[KEY-PREFIX | TAGS ...]", example="cmx rm cache 0836b991 -f")
def rm(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Remove cache entries and every entry built on them: `cmx rm cache KEY-PREFIX|--tags=…|--all -f`.
    Refuses (exit 1, naming the run) while a build or run uses one of them. -n lists them only.
    Example: cmx rm cache 0836b991 -f"""
    if not (i.get("tags") or i.get("artifacts") or i.get("all")):
        raise UsageError("which entries? give a key prefix or --tags=... (or --all)",
                         hint="preview with `cmx show cache --tags=...`")
    store = ctx.engine.store
    everything, _bad = _scan(store)
    entries = _dependents_first(_with_dependents(_select(i, everything, unique=True), everything))
    if entries and not (i.get("force") or i.get("dry_run")):
        raise UsageError(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} would be removed; add -f to confirm",
                         hint="cmx never prompts; preview with `cmx show cache --tags=...`")
    dry = bool(i.get("dry_run"))
    busy = [f"{e.alias} {e.key[:12]} (used by {', '.join(store.holders(e.key) or ['another cmx process'])})"
            for e in entries if store.in_use(e.key)]
    if busy and not dry:
        raise CacheError("nothing removed: in use by a running build or run: " + "; ".join(busy),
                         hint="try again when it has finished")
    removed: list[str] = []
    for e in entries:
        if not dry:
            try:
                store.remove(e)
            except CacheError as exc:
                raise CacheError(f"removed {len(removed)} of {len(entries)} entries, then: {exc.message}",
                                 hint=exc.hint) from exc
            removed.append(e.key)
        ctx.say(f"{'would remove' if dry else 'removed'} {e.key[:12]} {e.alias}")
    return {"removed": removed, "would_remove": [e.key for e in entries] if dry else []}


def _gc_plan(entries: list[Entry], cutoff: float | None, unreferenced: bool, older_than: str
             ) -> tuple[dict[str, str], dict[str, str]]:
    """(key -> why it goes, key -> why an expired entry stays).

    * ``--older-than`` and ``--unreferenced`` remove an entry and what was built on it, except
      that an entry built on a *probe* stays: its key holds the probe's output, not its folder.
    * An expired entry is not garbage, only due for a re-check: it goes when nothing that stays
      was built on it. Its dependents stay; the next run re-runs the probe (or rebuilds the
      entry under the same key), and if the output is unchanged they are hits again."""
    by_key = {e.key: e for e in entries}
    dependents: dict[str, list[Entry]] = {}
    for e in entries:
        for d in e.deps:
            dependents.setdefault(d, []).append(e)
    referenced = set(dependents)
    go: dict[str, str] = {}
    for e in entries:
        why = None
        if cutoff is not None and e.created < cutoff:
            why = f"older than {older_than}"
        elif unreferenced and e.key not in referenced:
            why = "unreferenced"
        if why is None or e.key in go:
            continue
        go[e.key] = why
        if e.record.get("probe"):
            continue
        stack = [e]
        while stack:  # what was built on it goes too (it points into its folder)
            top = stack.pop()
            for d in dependents.get(top.key, []):
                if d.key not in go:
                    go[d.key] = f"built on {e.alias} {e.key[:12]}"
                    if not d.record.get("probe"):
                        stack.append(d)
    kept: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for e in entries:
            if e.key in go or not e.expired:
                continue
            live = [d for d in dependents.get(e.key, []) if d.key not in go]
            if live:
                kept[e.key] = (f"expired; {len(live)} entr{'y is' if len(live) == 1 else 'ies are'} built on it: "
                               "the next run re-checks it")
            else:
                go[e.key] = "expired"
                kept.pop(e.key, None)
                changed = True
    return {k: go[k] for k in go if k in by_key}, kept


@declare("Remove garbage: expired entries nothing is built on, unusable entries, failed and abandoned builds, "
         "partial downloads and, when asked, old or unreferenced entries; never what a running build uses.",
         Flag("older-than", "duration", "also entries created (and run folders last changed) before then",
              example="--older-than=30d"),
         Flag("unreferenced", "bool", "also entries no other entry depends on (every top-level result!)"),
         Flag("keep-failed", "bool", "keep the failed builds in cache/.failed/"),
         DRY_RUN, example="cmx gc cache --older-than=30d -n")
def gc(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Remove garbage from the cache: expired entries nothing is built on, entries older than
    --older-than=DURATION, unreferenced ones with --unreferenced, unusable entries, failed builds
    (unless --keep-failed), abandoned builds and partial downloads, run folders older than
    --older-than. Never what a running build or run uses. -n (--dry-run) only lists.
    Example: cmx gc cache --older-than=30d -n"""
    store = ctx.engine.store
    dry = bool(i.get("dry_run"))
    verb = "would remove" if dry else "removed"
    entries, bad = _scan(store)
    cutoff = clock.now() - parse_duration(str(i["older_than"])) if i.get("older_than") else None
    go, kept = _gc_plan(entries, cutoff, bool(i.get("unreferenced")), str(i.get("older_than")))
    removed: list[str] = []
    busy: set[str] = set()
    for e in _dependents_first([e for e in entries if e.key in go]):
        if any(d.key in busy for d in entries if e.key in d.deps):
            busy.add(e.key)  # an entry built on it could not be removed: keep what it points into
            ctx.say(f"kept {e.key[:12]} {e.alias} (an entry built on it is in use)")
            continue
        if not dry:
            try:
                store.remove(e, wait=False)
            except CacheError as exc:
                busy.add(e.key)
                ctx.say(f"kept {e.key[:12]} {e.alias} ({exc.message})")
                continue
        removed.append(e.key)
        ctx.say(f"{verb} {e.key[:12]} {e.alias} ({go[e.key]})")
    for key, why in kept.items():
        e = next(x for x in entries if x.key == key)
        ctx.say(f"kept {key[:12]} {e.alias} ({why})")
    unusable = 0
    for b in bad:
        try:
            if not dry:
                store.remove(b, wait=False)
        except CacheError as exc:
            ctx.say(f"kept unusable {b.path} ({exc.message})")
            continue
        unusable += 1
        ctx.say(f"{verb} unusable entry {b.key[:12]} ({b.reason})")
    folders = list(store.orphan_builds())
    if store.failed_dir.is_dir() and not i.get("keep_failed"):
        folders += list(store.failed_dir.iterdir())
    runs = []
    if cutoff is not None:
        runs = [p for p in store.run_dirs() if p.stat().st_mtime < cutoff and not store.run_in_use(p)]
    partials = 0
    for part in store.abandoned_partials(older_than=cutoff):
        partials += 1
        ctx.say(f"{verb} partial download {part.name}")
        if not dry:
            try:
                part.unlink()
            except OSError:
                pass
    if not dry:
        for path in folders:
            shutil.rmtree(path, ignore_errors=True)
        for path in runs:
            store.remove_run(path)
        shutil.rmtree(store.trash_dir, ignore_errors=True)
        for path in store.stale_holder_files():
            try:
                os.unlink(path)
            except OSError:
                pass
    orphans = sum(1 for p in folders if p.parent == store.tmp_dir)
    failed = sum(1 for p in folders if p.parent == store.failed_dir)
    ctx.say(f"gc: {verb} {len(removed)} entries, {orphans} abandoned builds, {failed} failed builds, "
            f"{len(runs)} old run folders, {partials} partial downloads"
            + (f", {unusable} unusable entries" if unusable else "") + (f"; kept {len(kept)} expired entries others are built on"
                                                                        if kept else ""))
    return {"removed": removed, "kept": sorted(kept), "in_use": sorted(busy), "orphan_builds": orphans,
            "failed_builds": failed, "old_runs": len(runs), "partial_downloads": partials, "unusable": unusable,
            "dry_run": dry}


ACTIONS = {"show": show, "find": show, "list": show, "rm": rm, "gc": gc}
