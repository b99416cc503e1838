"""The plan: a DAG of concrete nodes, each one recipe with its variations,
version, input env and dependency edges, and (when computable) its cache key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from cmx.envutil import Env, public_inputs, redact_env
from cmx.host import host_id
from cmx.plan.keys import digest
from cmx.recipe import Recipe
from cmx.versions import VersionRequest

PHASES = ("deps", "prehook_deps", "posthook_deps", "post_deps")


@dataclass(frozen=True, slots=True)  # slots: a plan has an edge per dependency entry (20k in a large one)
class Edge:
    phase: str
    child: "PlanNode"
    names: tuple[str, ...]
    source: str  # file:line of the dependency entry
    condition: dict[str, Any] | None = None  # evaluated at run time when set
    continue_on_error: bool = False

    def describe_condition(self) -> str:
        if not self.condition:
            return ""
        return " ".join(f"{k}={v}" for k, v in self.condition.items())


@dataclass(frozen=True)
class DeferredEdge:
    """A conditional dependency that could not be planned (it closes a dependency cycle, or, in a CM/MLC
    recipe, cannot be selected): it is decided when its condition can be evaluated, at run time. If the
    condition holds then, the step fails with ``reason``; a run that succeeds never needed it, so the
    node's key (which covers the recipe's meta) stays exact."""

    phase: str
    source: str  # file:line of the dependency entry
    tags: str
    condition: dict[str, Any]
    reason: str

    def describe(self) -> str:
        cond = " ".join(f"{k}={v}" for k, v in self.condition.items())
        return f"{self.phase} '{self.tags}' at {self.source} if {cond}"


@dataclass(eq=False, slots=True)
class PlanNode:
    index: int
    recipe: Recipe
    variations: tuple[str, ...]
    version: str | None
    version_req: VersionRequest
    env: Env  # input env, before deps' outputs are merged
    key_env: Env  # the part of env that enters the cache key
    state: dict[str, Any]
    inputs: dict[str, Any]
    effective: dict[str, Any]  # meta after version and variation overlays
    identity: str
    given_env: Env = field(default_factory=dict)  # env passed in by the dependent or the user
    pinned: Env = field(default_factory=dict)  # user --env/--const and recipe const: re-applied after deps
    edges: list[Edge] = field(default_factory=list)
    parents: list[tuple["PlanNode", str]] = field(default_factory=list)
    key: str | None = None
    deferred: list[DeferredEdge] = field(default_factory=list)  # conditional deps planned at run time

    @property
    def alias(self) -> str:
        return self.recipe.alias

    @property
    def label(self) -> str:
        var = ",".join(f"_{v}" for v in self.variations)
        return f"{self.alias}{'(' + var + ')' if var else ''}"

    @property
    def cached(self) -> bool:
        return bool(self.effective.get("cache", self.recipe.meta.get("cache", False)))

    @property
    def probe(self) -> bool:
        return self.recipe.probe

    def children(self, phase: str | None = None) -> Iterator[Edge]:
        for e in self.edges:
            if phase is None or e.phase == phase:
                yield e

    def key_material(self, child_keys: list[str]) -> dict[str, Any]:
        """Everything the cache key is a hash of (also stored for `explain`). A probe's key also
        holds the machine it runs on (cmx/host.py): another machine runs its own probe."""
        material = {
            "recipe": {"uid": self.recipe.uid, "digest": self.recipe.digest},
            "variations": list(self.variations),
            "version": self.version,
            "env": redact_env(self.key_env),
            "inputs": public_inputs(self.inputs) if self.inputs else {},
            "deps": [
                [e.phase, e.child.recipe.alias, ck, e.condition or {}]
                for e, ck in zip(self.edges, child_keys)
            ],
        }
        if self.recipe.probe:
            material["host"] = host_id()
        return material

    def compute_key(self, child_keys: list[str]) -> str:
        return digest(self.key_material(child_keys))

    def chain(self) -> list[str]:
        """Labels of dependents up to the root, through first parents."""
        out = []
        node: PlanNode | None = self
        seen = set()
        while node is not None and node.parents and id(node) not in seen:
            seen.add(id(node))
            node = node.parents[0][0]
            out.append(node.label)
        return out


@dataclass
class Plan:
    root: PlanNode
    nodes: list[PlanNode]  # topological: dependencies before dependents
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "order": n.index,
                "recipe": n.alias,
                "uid": n.recipe.uid,
                "variations": list(n.variations),
                "version": n.version,
                "key": n.key,
                "deps": [
                    {"phase": e.phase, "order": e.child.index, **({"if": e.condition} if e.condition else {})}
                    for e in n.edges
                ],
            }
            for n in self.nodes
        ]
