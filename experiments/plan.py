"""Every point of an experiment as a ``cmx run script`` request, planned before anything runs.

A point's request is the experiment's fixed part (tags, ``--env.``, inputs) with the point's values
applied. Each request is planned with the engine: a bad explore value is found here (exit 2, naming
the key), the plans are merged into one view of the whole experiment (shared dependencies appear
once), and each point gets an id from its resolved request and its root's cache key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cmx.errors import CmxError, UnknownInputError, UsageError
from experiments.space import Dimension, Point, Space


@dataclass(frozen=True)
class PointRequest:
    """A point, and the flags of the ``cmx run script`` that runs it."""

    point: Point
    tags: str
    env: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, Any], ...]

    def as_input(self) -> dict[str, Any]:
        """The input dict of the script automation's ``run`` (what the CLI would parse)."""
        i: dict[str, Any] = {"action": "run", "automation": "script", "tags": self.tags}
        if self.env:
            i["env"] = dict(self.env)
        for k, v in self.inputs:
            i[k] = v
        return i

    def identity(self) -> dict[str, Any]:
        """What the point is, for its id: the selected tags (order-free), env and inputs."""
        tags = sorted(t for t in self.tags.split(",") if t)
        return {"tags": tags, "env": dict(self.env), "inputs": _jsonable(dict(self.inputs))}


@dataclass
class PlannedPoint:
    request: PointRequest
    recipe: str
    root_key: str | None  # the root's cache key when it is known before running (cached recipes)
    exclusive: bool
    nodes: list[dict[str, Any]] = field(default_factory=list)  # status_json rows of its plan
    # its plan, the keys known now and the run options (cmx_slurm ships them to the point's array task)
    plan: Any = field(default=None, compare=False, repr=False)
    keys: dict[int, str | None] = field(default_factory=dict, compare=False, repr=False)
    options: Any = field(default=None, compare=False, repr=False)

    @property
    def point_id(self) -> str:
        """The point's identity: its recipe and resolved request. (Its cache key is not part of it: a key
        is only complete once the probes it depends on have run; :func:`is_current` compares it.)"""
        material = {"recipe": self.recipe, "request": self.request.identity()}
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_current(p: PlannedPoint, record: dict[str, Any]) -> bool:
    """A finished point's record still describes it: same root key when both are known."""
    return not (p.root_key and record.get("key") and record["key"] != p.root_key)


def point_requests(space: Space, tags: str, env: dict[str, Any], inputs: dict[str, Any]) -> list[PointRequest]:
    return [apply(p, space.dimensions, tags, env, inputs) for p in space.points()]


def apply(point: Point, dims: tuple[Dimension, ...], tags: str, env: dict[str, Any],
          inputs: dict[str, Any]) -> PointRequest:
    tag_list = [t for t in tags.split(",") if t]
    env = dict(env)
    inputs = dict(inputs)
    for dim, (_, value) in zip(dims, point.values):
        if dim.kind == "variation":
            tag_list += value.split("+")
        elif dim.kind == "env":
            env[dim.target] = value
        else:
            inputs[dim.target] = value
    return PointRequest(point, ",".join(tag_list), tuple(sorted((k, str(v)) for k, v in env.items())),
                        tuple(sorted(inputs.items())))


def check_keys(space: Space, engine: Any, tags: str) -> None:
    """An explore key must name an input of the recipe, a variation dimension or an env key."""
    from cmx.selector import parse

    sel = parse(tags)
    recipes = engine.index.with_tags(sel.tags, sel.not_tags)
    if not recipes:
        return  # planning names the missing recipe
    mapping: dict[str, Any] = {}
    for r in recipes:
        mapping.update(r.meta.get("input_mapping") or {})
        for v in (r.meta.get("variations") or {}).values():
            mapping.update((v or {}).get("input_mapping") or {})
    for dim in space.dimensions:
        if dim.kind == "input" and dim.target not in mapping:
            import difflib

            close = difflib.get_close_matches(dim.target, list(mapping) + ["variation"], n=1)
            known = ", ".join(sorted(mapping)) or "(none)"
            raise UsageError(
                f"unknown explore key --explore.{dim.key}: recipe '{recipes[0].alias}' has no input --{dim.target}"
                f" (its inputs: {known}; or explore variation, variation.LABEL, env.NAME)",
                hint=f"did you mean --explore.{close[0]}?" if close else None)


def plan_points(requests: list[PointRequest], space: Space, engine: Any, ctx: Any,
                script: Any) -> list[PlannedPoint]:
    """Plan every point; a point that cannot be planned is a usage error naming its explore key."""
    checked = _check_each_value(requests, space, engine, ctx, script)
    out = []
    for r in requests:  # a point planned by the check already (one explored key: all of them) is not planned again
        known = checked.get(_same_request(r))
        out.append(dataclasses.replace(known, request=r) if known is not None else _plan_one(r, engine, ctx, script))
    return out


def _same_request(r: PointRequest) -> str:
    """Requests with equal tags, env and inputs plan alike, whatever their point."""
    return repr((r.tags, r.env, r.inputs))


def _check_each_value(requests: list[PointRequest], space: Space, engine: Any, ctx: Any,
                      script: Any) -> dict[str, PlannedPoint]:
    """Plan each value of each key once (the others at their first value), to name the culprit key;
    the plans made, by request."""
    planned: dict[str, PlannedPoint] = {}
    if not requests:
        return planned
    base = requests[0].point
    for d, dim in enumerate(space.dimensions):
        for value in dim.values[1:] if d else dim.values:
            values = list(base.values)
            values[d] = (dim.key, value)
            req = apply(Point(-1, tuple(values)), space.dimensions, *_fixed(requests[0], space))
            try:
                planned[_same_request(req)] = _plan_one(req, engine, ctx, script)
            except CmxError as exc:
                if isinstance(exc, UnknownInputError) and exc.flag != dim.target:
                    raise  # a fixed --flag of the experiment the recipe lacks, whatever the explored value
                raise UsageError(f"--explore.{dim.key}={value}: {str(getattr(exc, 'message', exc)).splitlines()[0]}",
                                 hint=getattr(exc, "hint", None)) from exc
    return planned


def _fixed(req: PointRequest, space: Space) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The experiment's fixed tags, env and inputs, recovered from a point (the explored parts removed)."""
    explored_tags: set[str] = set()
    env = dict(req.env)
    inputs = dict(req.inputs)
    for dim, (_, value) in zip(space.dimensions, req.point.values):
        if dim.kind == "variation":
            explored_tags.update(value.split("+"))
        elif dim.kind == "env":
            env.pop(dim.target, None)
        else:
            inputs.pop(dim.target, None)
    tags = ",".join(t for t in req.tags.split(",") if t and t not in explored_tags)
    return tags, env, inputs


def _plan_one(req: PointRequest, engine: Any, ctx: Any, script: Any) -> PlannedPoint:
    from cmx.plan.status import status_json

    request, options = script.request_from(req.as_input(), ctx)
    plan = engine.plan(request)
    statuses = engine.status(plan)
    root = plan.root
    root_status = next(s for s in statuses if s.node is root)
    return PlannedPoint(req, root.alias, root_status.key if root.cached else None,
                        bool(root.recipe.meta.get("exclusive")), status_json(statuses),
                        plan, {s.node.index: s.key for s in statuses}, options)


def merged_plan(planned: list[PlannedPoint]) -> list[dict[str, Any]]:
    """The nodes of all plans, one row per distinct (recipe, variations, key), with how many points use it."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in planned:
        for n in p.nodes:
            ident = (n["recipe"], tuple(n["variations"]), n["key"] or f"pending:{p.point_id}:{n['order']}")
            row = rows.get(ident)
            if row is None:
                row = rows[ident] = {k: n[k] for k in ("recipe", "variations", "version", "key", "status", "why")}
                row["points"] = 0
            row["points"] += 1
    return list(rows.values())


def _jsonable(v: Any) -> Any:
    return json.loads(json.dumps(v, sort_keys=True, default=str))
