"""Why a node will run: a typed reason, and a field-by-field diff against the
most recent cache entry of the same recipe (Snakemake-style ``Reason``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cmx.cache.store import Entry, Store
from cmx.plan.node import PlanNode


class Why(str, enum.Enum):
    HIT = "hit"
    NEW = "new"  # never built
    CHANGED = "changed"  # built before, with different inputs
    EXPIRED = "expired"
    FORCED = "forced"  # --new
    UNCACHED = "uncached"  # recipe has cache: false (runs every time)
    SKIP_CACHE = "skip-cache"
    PENDING = "pending"  # key depends on a probe that has not run
    NOT_NEEDED = "not-needed"  # every dependent is a cache hit
    CONDITIONAL = "conditional"  # behind an enable_if/skip_if decided at run time


@dataclass(frozen=True)
class Reason:
    why: Why
    details: tuple[str, ...] = ()

    @property
    def hit(self) -> bool:
        return self.why is Why.HIT

    def text(self) -> str:
        base = _TEXT[self.why]
        return base + (": " + "; ".join(self.details) if self.details else "")


_TEXT = {
    Why.HIT: "cached",
    Why.NEW: "not built yet",
    Why.CHANGED: "inputs changed",
    Why.EXPIRED: "cache entry expired",
    Why.FORCED: "--new given",
    Why.UNCACHED: "not cached (runs every time)",
    Why.SKIP_CACHE: "--skip_cache given",
    Why.PENDING: "key known after a probe runs",
    Why.NOT_NEEDED: "not needed: dependents are cached",
    Why.CONDITIONAL: "runs only if its condition holds at run time",
}
# the reasons without details, shared (a Reason is a frozen value)
PLAIN = {why: Reason(why) for why in Why}


def previous_entries(store: Store) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for e in store.entries():
        out.setdefault(e.alias, []).append(e)
    for entries in out.values():
        entries.sort(key=lambda e: e.created, reverse=True)
    return out


def diff_material(new: dict[str, Any], old: dict[str, Any], new_files: dict[str, str], old_files: dict[str, str]) -> list[str]:
    changes: list[str] = []
    if new.get("recipe", {}).get("digest") != old.get("recipe", {}).get("digest"):
        files = sorted(set(new_files) | set(old_files))
        changed = [f for f in files if new_files.get(f) != old_files.get(f)]
        changes.append("recipe content changed" + (f" ({', '.join(changed)})" if changed else ""))
    if new.get("host") != old.get("host"):  # a probe: its entry is per machine (cmx/host.py)
        changes.append(f"probe ran on another machine ({old.get('host')} -> {new.get('host')})")
    if new.get("variations") != old.get("variations"):
        changes.append(f"variations {old.get('variations')} -> {new.get('variations')}")
    if new.get("version") != old.get("version"):
        changes.append(f"version {old.get('version')} -> {new.get('version')}")
    for field in ("env", "inputs"):
        a, b = old.get(field) or {}, new.get(field) or {}
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                label = "env" if field == "env" else "input"
                if k not in a:
                    changes.append(f"{label} {k} added (={b[k]!r})")
                elif k not in b:
                    changes.append(f"{label} {k} removed (was {a[k]!r})")
                else:
                    changes.append(f"{label} {k}: {a[k]!r} -> {b[k]!r}")
    old_deps = {(d[0], d[1]): d[2] for d in old.get("deps", [])}
    for d in new.get("deps", []):
        prev = old_deps.get((d[0], d[1]))
        if prev is None:
            changes.append(f"new dependency {d[1]} ({d[0]})")
        elif prev != d[2]:
            changes.append(f"dependency {d[1]} changed ({str(prev)[:12]} -> {str(d[2])[:12]})")
    return changes


def explain_miss(node: PlanNode, material: dict[str, Any], store: Store,
                 previous: dict[str, list[Entry]]) -> Reason:
    """Why a cacheable node with a known key is not in the cache."""
    candidates = previous.get(node.alias, [])
    same_vars = [e for e in candidates if e.record.get("variations") == list(node.variations)]
    pool = same_vars or candidates
    if not pool:
        return Reason(Why.NEW)
    prev = pool[0]
    old_material = prev.record.get("material") or {}
    changes = diff_material(
        material, old_material, dict(node.recipe.file_digests), dict(prev.record.get("recipe_files") or [])
    )
    return Reason(Why.CHANGED, tuple(changes) or ("entry " + prev.key[:12] + " differs",))
