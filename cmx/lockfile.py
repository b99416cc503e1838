"""Provenance records and lockfiles.

A lockfile is the resolved plan in a stable, versioned JSON shape: the root
request, and per node the recipe (alias, uid, content digest), variations,
version, the env that enters its key, its dependencies and its key, plus a
short machine description. ``--frozen LOCK`` re-plans and fails, listing the
differences, when anything would resolve differently.

The keys of probes and of the nodes built on them hold the facts of the machine (cmx/host.py):
on another machine than the lock's (a Slurm compute node running a plan made on the login
node, docs/slurm.md) they are decided there, and only the rest of the plan is compared.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Collection

from cmx.envutil import public_inputs, redact_env
from cmx.errors import FrozenMismatch, UsageError
from cmx.host import host_id
from cmx.plan.node import Plan, PlanNode

LOCK_FORMAT = 1


def machine() -> dict[str, Any]:
    u = os.uname()
    return {
        "system": u.sysname,
        "release": u.release,
        "machine": u.machine,
        "python": ".".join(str(v) for v in sys.version_info[:3]),
        "cpus": os.cpu_count(),
        "host": host_id(),  # the machine its probes ran on
    }


def _node(n: PlanNode, key: str | None) -> dict[str, Any]:
    return {
        "recipe": n.alias,
        "uid": n.recipe.uid,
        "digest": n.recipe.digest,
        "repo": n.recipe.repo,
        "variations": list(n.variations),
        "version": n.version,
        "env": redact_env(n.key_env),
        "inputs": public_inputs(n.inputs),
        "key": key,
        "probe": n.probe,
        "deps": [[e.phase, e.child.index] + ([e.condition] if e.condition else []) for e in n.edges],
    }


def build(plan: Plan, keys: dict[int, str | None], request: dict[str, Any], root: PlanNode | None = None) -> dict[str, Any]:
    """The lock of ``root``'s subtree (the whole plan by default)."""
    from cmx import __version__

    root = root or plan.root
    wanted: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if n.index not in wanted:
            wanted.add(n.index)
            stack.extend(e.child for e in n.edges)
    return {
        "lockfile_format": LOCK_FORMAT,
        "cmx_version": __version__,
        "request": request,
        "root": root.index,
        "nodes": {str(n.index): _node(n, keys.get(n.index)) for n in plan.nodes if n.index in wanted},
        "machine": machine(),
    }


def check_target(path: Path) -> None:
    """Raise UsageError (naming --lock) unless a lockfile can be written at ``path``: checked
    before a run, so that a bad path never fails after the entries were published."""
    if path.is_dir():
        raise UsageError(f"--lock: {path} is a folder; give a file name, e.g. {path / 'cmx-lock.json'}")
    folder = path.parent
    while not folder.exists():  # the missing folders are created when the lock is written
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"--lock: cannot write {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--lock: cannot write {path}: {folder} is not writable")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
        raise UsageError(f"--lock: cannot write {path}: it is read-only")


def write(path: Path, lock: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(lock, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--frozen: cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"--frozen: {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("lockfile_format") != LOCK_FORMAT:
        raise UsageError(f"--frozen: {path} is not a cmx lockfile (format {LOCK_FORMAT})")
    return data


def machine_keyed(lock: dict[str, Any], probes: Collection[str] = ()) -> set[str]:
    """The node ids of ``lock`` whose key holds machine facts: probes (marked in the lock, or
    named in ``probes`` by their labels) and every node built on one."""
    nodes = lock.get("nodes") or {}
    out: set[str] = set()
    for nid in sorted(nodes, key=lambda k: (len(k), k)):  # ids are plan orders: dependencies first
        n = nodes[nid]
        if n.get("probe") or _label(n) in probes or any(str(d[1]) in out for d in n.get("deps") or []):
            out.add(nid)
    return out


def _label(n: dict[str, Any]) -> str:
    return str(n.get("recipe")) + "".join(f",_{v}" for v in n.get("variations") or [])


def compare(path: Path, locked: dict[str, Any], current: dict[str, Any]) -> None:
    """Raise FrozenMismatch listing every difference between two locks. On another machine than
    the lock's, the keys made of probe outputs are not compared: they are that machine's facts."""
    diffs: list[str] = []
    other_machine = (locked.get("machine") or {}).get("host") != (current.get("machine") or {}).get("host")
    skip_keys: set[str] = set()
    if other_machine:
        probes = {_label(n) for n in current["nodes"].values() if n.get("probe")}
        skip_keys = {_label(locked["nodes"][i]) for i in machine_keyed(locked, probes)}
    old_nodes = {(n["recipe"], tuple(n["variations"])): n for n in locked["nodes"].values()}
    new_nodes = {(n["recipe"], tuple(n["variations"])): n for n in current["nodes"].values()}
    for ident in sorted(set(old_nodes) | set(new_nodes)):
        label = ident[0] + "".join(f",_{v}" for v in ident[1])
        a, b = old_nodes.get(ident), new_nodes.get(ident)
        if a is None:
            diffs.append(f"{label}: new in the plan")
            continue
        if b is None:
            diffs.append(f"{label}: no longer in the plan")
            continue
        for field in ("uid", "digest", "version", "env", "inputs", "key"):
            if a.get(field) != b.get(field):
                if field == "key" and (a.get(field) is None or b.get(field) is None or label in skip_keys):
                    continue
                if field == "env":
                    ka, kb = a.get("env") or {}, b.get("env") or {}
                    for k in sorted(set(ka) | set(kb)):
                        if ka.get(k) != kb.get(k):
                            diffs.append(f"{label}: env {k}: {ka.get(k)!r} -> {kb.get(k)!r}")
                elif field == "digest":
                    diffs.append(f"{label}: recipe content changed ({str(a[field])[:12]} -> {str(b[field])[:12]})")
                elif field == "key":
                    diffs.append(f"{label}: cache key changed ({str(a[field])[:12]} -> {str(b[field])[:12]})")
                else:
                    diffs.append(f"{label}: {field} {a.get(field)!r} -> {b.get(field)!r}")
    if diffs:
        raise FrozenMismatch(path, diffs)
