"""The plan as data: what the submitting machine ships to a Slurm job, and the checks the job makes.

The submitting machine selects and plans once. ``pack`` turns that plan (its nodes with their
resolved variations, versions, env, inputs and edges, the recipes with their metas and per-file
content digests) and the run options into one flat value: nodes refer to each other by index,
so it pickles without recursion whatever the depth of the plan. The job ``unpack``s it and runs
it with the executor; it never selects, resolves variations or versions, or reads a meta to plan
(docs/slurm.md, "What runs where"). Before anything runs, the job:

- checks every recipe's files against the digests of the plan (``check_recipes``): a recipe edited
  between planning and running is refused by name, nothing runs;
- computes the keys again on its own machine from the plan's key material (``rekey``): a probe's key
  holds the machine it runs on (cmx/host.py), so the node's probes are its own; the keys built on a
  probe's *output* are completed by the executor once the node's probe has run, as in a local run.

A dependency the plan could not decide up front (one that must be planned on the env of a step, see
architecture.md, "Dependencies planned at run time") is not planned in the job: ``refuse_late`` fails
it with a message telling the user to plan on a machine like the compute nodes.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Mapping

from cmx.errors import CmxError, UsageError
from cmx.execute.result import RunOptions
from cmx.host import host_id
from cmx.plan.node import Edge, Plan, PlanNode, static_key
from cmx.recipe import Recipe

FORMAT = 1
_NODE_FIELDS = tuple(f.name for f in fields(PlanNode))
_LINKS = ("recipe", "edges", "parents", "plan_key")  # carried by index, or computed again in the job (plan_key)


class RecipeChanged(CmxError):
    """A recipe of the shipped plan differs on disk from what was planned: nothing runs (exit 2)."""


class NotPlannedHere(CmxError):
    """The job would have to plan a dependency that the submitted plan does not hold (exit 2)."""


@dataclass(frozen=True)
class ShippedPlan:
    """One job's work: the plan made on the submitting machine, flat, and how to run it."""

    format: int
    cmx_version: str
    host: str  # the submitting machine (cmx/host.py)
    recipes: tuple[tuple[Any, ...], ...]  # Recipe.field_values(), the way the index stores them
    nodes: tuple[dict[str, Any], ...]  # PlanNode fields; recipe, edges and parents by index
    root: int
    notes: tuple[str, ...]
    options: RunOptions
    info: dict[str, Any]  # the request as recorded in the answer's lock
    keys: dict[int, str | None]  # the keys the submitting machine knew (its probe outputs in), by node index


def _proxy(d: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(d)


def _reduce_proxy(m: Mapping[str, Any]) -> tuple[Any, tuple[dict[str, Any]]]:
    return _proxy, (dict(m),)


def pack(plan: Plan, keys: Mapping[int, str | None], options: RunOptions, info: dict[str, Any]) -> bytes:
    """The plan and how to run it, as the bytes a job gets."""
    from cmx import __version__

    recipes: dict[int, int] = {}
    recipe_values: list[tuple[Any, ...]] = []
    nodes = []
    for n in plan.nodes:
        rid = recipes.get(id(n.recipe))
        if rid is None:
            rid = recipes[id(n.recipe)] = len(recipe_values)
            recipe_values.append(_values(n.recipe))
        d = {name: getattr(n, name) for name in _NODE_FIELDS if name not in _LINKS}
        d["recipe"] = rid
        d["edges"] = [(e.phase, e.child.index, e.names, e.source, e.condition, e.continue_on_error, e.late)
                      for e in n.edges]
        d["parents"] = [(p.index, phase) for p, phase in n.parents]
        nodes.append(d)
    shipped = ShippedPlan(FORMAT, __version__, host_id(), tuple(recipe_values), tuple(nodes), plan.root.index,
                          tuple(plan.notes), options, dict(info), dict(keys))
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()  # type: ignore[misc]
    pickler.dispatch_table[MappingProxyType] = _reduce_proxy  # type: ignore[index]  # the planner's read-only {}
    pickler.dump(shipped)
    return buf.getvalue()


_VALUES: dict[int, tuple[Recipe, tuple[Any, ...]]] = {}  # the points of an experiment share their recipes


def _values(recipe: Recipe) -> tuple[Any, ...]:
    known = _VALUES.get(id(recipe))
    if known is None or known[0] is not recipe:  # (the recipe is kept, so its id is not reused meanwhile)
        known = _VALUES[id(recipe)] = (recipe, recipe.field_values())
    return known[1]


def unpack(data: bytes) -> tuple[ShippedPlan, Plan]:
    """The shipped value and its plan, rebuilt, with the submitting machine's keys (see ``rekey``)."""
    from cmx import __version__

    try:
        shipped = pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - a payload of another cmx, or a damaged one
        raise UsageError(f"the plan shipped to this job cannot be read ({type(exc).__name__}: {exc}); "
                         "is the same cmx installed on the compute nodes?") from exc
    if not isinstance(shipped, ShippedPlan) or shipped.format != FORMAT:
        raise UsageError(f"the plan shipped to this job is not a cmx plan of format {FORMAT}")
    if shipped.cmx_version != __version__:
        raise UsageError(f"the plan was made by cmx {shipped.cmx_version} on {shipped.host}, this node runs cmx "
                         f"{__version__}: install the same cmx on the compute nodes (a shared filesystem)")
    recipes = [Recipe.restore(values) for values in shipped.recipes]
    nodes: list[PlanNode] = []
    for d in shipped.nodes:
        values = {k: v for k, v in d.items() if k not in _LINKS}  # key: the submitting machine's (see rekey)
        nodes.append(PlanNode(recipe=recipes[d["recipe"]], edges=[], parents=[], **values))
    for n, d in zip(nodes, shipped.nodes):
        n.edges.extend(Edge(phase, nodes[child], names, source, condition, coe, late)
                       for phase, child, names, source, condition, coe, late in d["edges"])
        n.parents.extend((nodes[p], phase) for p, phase in d["parents"])
    plan = Plan(root=nodes[shipped.root], nodes=nodes, notes=list(shipped.notes), planner=refuse_late(shipped))
    return shipped, plan


def check_recipes(plan: Plan) -> None:
    """Refuse the plan when a recipe's files changed since it was planned (edited, added, removed): the
    first line names the recipe, the files and the folder."""
    problems = []
    seen: set[int] = set()
    for n in plan.nodes:
        if id(n.recipe) in seen:
            continue
        seen.add(id(n.recipe))
        changed = n.recipe.changed_files()
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            problems.append(f"recipe '{n.recipe.alias}' changed since it was planned ({shown} in {n.recipe.path})")
    if problems:
        more = "".join(f"\n  - {p}" for p in problems[1:])
        raise RecipeChanged(f"the plan shipped to this job is out of date: {problems[0]}; nothing was run{more}",
                            hint="submit again to plan with the recipes as they are now")


def rekey(plan: Plan) -> list[PlanNode]:
    """Compute the keys knowable before running again, on this machine, from the plan's key material
    (dependencies first); returns the nodes whose key differs from the submitting machine's: the probes
    and what is keyed by their plan, which hold the machine they run on."""
    before = [n.key for n in plan.nodes]
    for n in plan.nodes:
        n.plan_key = None
    for n in plan.nodes:  # dependencies before dependents
        n.key = static_key(n)
    return [n for n, old in zip(plan.nodes, before) if n.key != old]


def refuse_late(shipped: ShippedPlan) -> Any:
    """What the executor calls to plan a dependency at run time (``Plan.planner``): in a job, an error
    saying why and where to plan instead (the executor names the dependency and its file:line)."""

    class _Refuse:
        def plan_late(self, node: PlanNode, late: Any, env: Mapping[str, Any]) -> Plan:
            from cmx.plan.planner import late_request

            planned, here = late.request[0], late_request(late, env)[0]
            change = f" (planned as '{planned}', here '{here}')" if here != planned else ""
            raise NotPlannedHere(
                f"what ran before it on this node changed its request{change}, and a Slurm job runs only the "
                f"plan made on {shipped.host}: plan on a machine like the compute nodes (e.g. srun cmx run "
                f"script ...), or run without --executor=slurm")

    return lambda: _Refuse()
