"""Cache status of every plan node, without running anything.

Keys are completed with the outputs of probes that are fresh in the cache; a
node whose key still depends on a probe that must run is PENDING. A node none of
whose dependents needs it (they are all hits) is NOT_NEEDED.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cmx.cache.store import Store
from cmx.plan.explain import PLAIN, Reason, Why, explain_miss, previous_entries
from cmx.plan.node import Edge, Plan, PlanNode, conditional_key


class NodeStatus(NamedTuple):
    """What the cache says of one plan node. (A named tuple, not a frozen dataclass: one per node, and
    a frozen dataclass costs several times as much to make.)"""

    node: PlanNode
    key: str | None
    reason: Reason
    needed: bool


_new_tuple = tuple.__new__


def _probe_output(node: PlanNode, key: str | None, store: Store, skip_cache: bool, present: set[str]) -> str | None:
    if key is None or skip_cache or not node.cached or key not in present:
        return None
    entry = store.lookup(key)
    if entry is None or entry.expired:
        return None
    return str(entry.record.get("output_digest"))


def _dependency_gone(n: PlanNode, keys: list[str | None], present: set[str]) -> bool:
    """Is a cached, non-probe, unconditional dependency's entry missing? Then ``n``'s entry points
    into a folder that is gone and is rebuilt (as the executor does)."""
    return any(keys[e.child.index] is not None and keys[e.child.index] not in present for e in n.edges
               if not e.child.probe and e.child.cached and e.late is None and not e.continue_on_error)


def contribution(edge: Edge, contrib: list[str | None]) -> str | None:
    """What a dependency contributes to its dependent's key: its key, a probe's output digest, or, behind
    a run-time condition, a key of the plan alone (``conditional_key``)."""
    if edge.late is not None:
        return "if:" + conditional_key(edge.child)
    return contrib[edge.child.index]


def plan_status(plan: Plan, store: Store, *, new: bool = False, skip_cache: bool = False,
                explain: bool = False) -> list[NodeStatus]:
    present = store.snapshot()
    # per node, by its index (nodes[i].index == i)
    keys: list[str | None] = [None] * len(plan.nodes)
    contrib: list[str | None] = [None] * len(plan.nodes)  # what a node contributes to its dependents' keys
    for n in plan.nodes:  # dependencies come first
        if n.key is not None:  # the planner's key: no probe below it, nothing to complete
            key: str | None = n.key
        else:
            child = [contribution(e, contrib) for e in n.edges]
            key = None if any(c is None for c in child) else n.compute_key([c for c in child if c is not None])
        keys[n.index] = key
        if n.recipe.probe:
            probe_out = _probe_output(n, key, store, skip_cache, present)
            contrib[n.index] = None if probe_out is None else "probe:" + probe_out
        else:
            contrib[n.index] = key
    previous = previous_entries(store) if explain else {}
    reasons: list[Reason] = [PLAIN[Why.NEW]] * len(plan.nodes)
    for n in plan.nodes:
        key = keys[n.index]
        if skip_cache:
            reasons[n.index] = PLAIN[Why.SKIP_CACHE]
        elif n is plan.root and new:
            reasons[n.index] = PLAIN[Why.FORCED]
        elif not n.cached:
            reasons[n.index] = PLAIN[Why.UNCACHED]
        elif key is None:
            reasons[n.index] = PLAIN[Why.PENDING]
        else:
            entry = store.lookup(key) if key in present else None
            if entry is not None and not entry.expired and not _dependency_gone(n, keys, present):
                reasons[n.index] = PLAIN[Why.HIT]
            elif entry is not None:
                reasons[n.index] = PLAIN[Why.EXPIRED]
            elif explain and previous.get(n.recipe.alias):
                child = [contribution(e, contrib) for e in n.edges]
                reasons[n.index] = explain_miss(n, n.key_material([str(c) for c in child]), store, previous)
            else:
                reasons[n.index] = PLAIN[Why.NEW]
    needed: set[int] = set()
    stack = [plan.root]
    while stack:
        n = stack.pop()
        if n.index in needed:
            continue
        needed.add(n.index)
        r = reasons[n.index]
        if r.hit:
            # a hit still consults the probes its key is made of
            stack.extend(e.child for e in n.edges if e.child.probe and e.late is None)
            continue
        # a dependency behind a run-time condition is decided when its dependent runs
        stack.extend(e.child for e in n.edges if e.late is None)
    conditional: set[int] = set()
    stack = [e.child for i in needed for e in plan.nodes[i].edges if e.late is not None]
    while stack:
        n = stack.pop()
        if n.index in needed or n.index in conditional:
            continue
        conditional.add(n.index)
        stack.extend(e.child for e in n.edges)
    out = []
    for n in plan.nodes:
        reason = reasons[n.index]
        if n.index in conditional and not reason.hit:
            reason = Reason(Why.CONDITIONAL, reason.details)
        elif n.index not in needed and n.index not in conditional:
            reason = PLAIN[Why.NOT_NEEDED]
        out.append(_new_tuple(NodeStatus, (n, keys[n.index], reason, n.index in needed)))  # NodeStatus(...), faster
    return out


def status_json(statuses: list[NodeStatus]) -> list[dict[str, Any]]:
    out = []
    texts: dict[int, tuple[str, str]] = {}  # most nodes share one of a few Reason objects (see PLAIN)
    for s in statuses:
        node, reason = s.node, s.reason
        why = reason.why
        known = texts.get(id(reason))
        if known is None:
            known = texts[id(reason)] = (why.value, reason.text())
        value, text = known
        out.append({
            "order": node.index,
            "recipe": node.recipe.alias,
            "uid": node.recipe.uid,
            "variations": list(node.variations),
            "version": node.version,
            "key": s.key,
            "status": "hit" if why is Why.HIT else ("maybe" if why is Why.CONDITIONAL
                                                    else "skip" if not s.needed else "run"),
            "reason": value,
            "why": text,
            "probe": node.recipe.probe,
            "deps": [
                {"phase": e.phase, "order": e.child.index, "if": e.condition} if e.condition else
                {"phase": e.phase, "order": e.child.index}
                for e in node.edges
            ],
            **({"deferred": [{"phase": d.phase, "tags": d.tags, "at": d.source, "if": d.condition, "reason": d.reason}
                             for d in node.deferred]} if node.deferred else {}),
            **({"inherited_env": list(node.inherited)} if node.inherited else {}),
            **({"update_meta_if_env": [{"at": p.source, "if": p.condition,
                                        "applied": "at run time" if p.at_run_time else p.applied}
                                       for p in node.meta_patches]} if node.meta_patches else {}),
        })
    return out
