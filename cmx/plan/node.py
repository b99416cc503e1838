"""The plan: a DAG of concrete nodes, each one recipe with its variations,
version, input env and dependency edges, and (when computable) its cache key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from cmx.envutil import Env, public_inputs, redact_env
from cmx.host import host_id
from cmx.plan.keys import ENCODE, digest, digest_text, quote
from cmx.recipe import Recipe
from cmx.versions import VersionRequest

PHASES = ("deps", "prehook_deps", "posthook_deps", "post_deps")


@dataclass(frozen=True, eq=False)
class LateDep:
    """What is needed to plan a conditional dependency again at run time, on the env its step has then:
    the entry (with the patches that applied to it, without its condition), where it is declared, the
    patches passed down, and the request it made on the env known at planning (tags, env, inputs)."""

    phase: str
    dep: Mapping[str, Any]
    path: str
    adr: Mapping[str, Any]
    ad: Mapping[str, Any]
    request: tuple[str, str, str]
    inherit: Any = None  # cmx.compat.shared_env.Inherit: the env a CM/MLC dependent passes


class Edge(NamedTuple):
    """A dependency of a node. (A named tuple, not a frozen dataclass: a plan has one per dependency
    entry, 30k in a large one, and a frozen dataclass costs five times as much to make.)"""

    phase: str
    child: "PlanNode"
    names: tuple[str, ...]
    source: str  # file:line of the dependency entry
    condition: dict[str, Any] | None = None  # evaluated at run time when set
    continue_on_error: bool = False
    # a conditional edge, or a hook edge whose request reads the env: planned again at run time if its
    # request (tags, env, inputs) differs on the env its dependent has then; its key counts by conditional_key
    late: LateDep | None = None

    def describe_condition(self) -> str:
        if not self.condition:
            return ""
        return " ".join(f"{k}={v}" for k, v in self.condition.items())


@dataclass(frozen=True)
class DeferredEdge:
    """A conditional dependency that could not be planned (it closes a dependency cycle, or, in a CM/MLC
    recipe, cannot be selected): it is decided when its condition can be evaluated, at run time. If the
    condition holds then, it is planned on the env the step has then and run with its own dependencies
    (``late``); ``reason`` says why it could not be planned up front."""

    phase: str
    source: str  # file:line of the dependency entry
    tags: str
    condition: dict[str, Any]
    reason: str
    after: int = 0  # how many planned edges of its phase come before it (run order)
    late: LateDep | None = field(default=None, compare=False)

    def describe(self) -> str:
        cond = " ".join(f"{k}={v}" for k, v in self.condition.items())
        return f"{self.phase} '{self.tags}' at {self.source} if {cond}"


@dataclass(frozen=True)
class MetaPatch:
    """An entry of a CM/MLC recipe's ``update_meta_if_env``: a meta patch applied when its condition holds.
    Decided at planning when the env holds every key the condition reads (``at_run_time`` False; then
    ``applied`` says whether it was), else when the step runs, after its ``deps`` (docs/compat.md)."""

    condition: dict[str, Any]
    patch: dict[str, Any]
    source: str
    at_run_time: bool
    applied: bool = False

    def describe(self) -> str:
        cond = " ".join(f"{k}={v}" for k, v in self.condition.items())
        if self.at_run_time:
            return f"update_meta_if_env at {self.source}: at run time if {cond}"
        return f"update_meta_if_env at {self.source}: {'applied' if self.applied else 'not applied'} ({cond})"


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
    plan_key: str | None = None  # see conditional_key (memo)
    inherited: tuple[str, ...] = ()  # env keys its CM/MLC dependent passed it (in env and key_env)
    meta_patches: tuple[MetaPatch, ...] = ()  # its update_meta_if_env entries (CM/MLC recipes)

    @property
    def alias(self) -> str:
        return self.recipe.alias

    @property
    def label(self) -> str:
        var = ",".join(f"_{v}" for v in self.variations)
        return f"{self.alias}{'(' + var + ')' if var else ''}"

    @property
    def cached(self) -> bool:
        eff = self.effective
        return bool(eff["cache"] if "cache" in eff else self.recipe.meta.get("cache", False))

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
        text = self._key_text(child_keys)
        return digest(self.key_material(child_keys)) if text is None else digest_text(text)

    def _key_text(self, child_keys: list[str]) -> str | None:
        """``canonical(self.key_material(child_keys))``, written out directly: the same bytes (the same
        encoder writes every value; the keys are in sorted order here), without building the material
        and sorting its keys, once per node of every plan. None for a value of another type than
        key_material's usual ones (then the material is encoded as a whole)."""
        recipe, version = self.recipe, self.version
        if ENCODE is None or recipe.uid.__class__ is not str or recipe.digest.__class__ is not str:
            return None
        if version is None:
            version_text = "null"
        elif version.__class__ is str:
            version_text = quote(version)
        else:
            return None
        deps = []
        for e, ck in zip(self.edges, child_keys):
            if ck.__class__ is not str or e.phase.__class__ is not str or e.child.recipe.alias.__class__ is not str:
                return None
            condition = e.condition
            deps.append(f"[{quote(e.phase)},{quote(e.child.recipe.alias)},{quote(ck)},"
                        f"{ENCODE(condition) if condition else '{}'}]")
        variations = []
        for v in self.variations:
            if v.__class__ is not str:
                return None
            variations.append(quote(v))
        env = redact_env(self.key_env)
        host = f',"host":{quote(host_id())}' if recipe.probe else ""
        inputs = ENCODE(public_inputs(self.inputs)) if self.inputs else "{}"
        return (f'{{"deps":[{",".join(deps)}],"env":{ENCODE(env) if env else "{}"}{host},"inputs":{inputs},'
                f'"recipe":{{"digest":{quote(recipe.digest)},"uid":{quote(recipe.uid)}}},'
                f'"variations":[{",".join(variations)}],"version":{version_text}}}')

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


def conditional_key(node: PlanNode) -> str:
    """What a dependency behind a run-time condition contributes to its dependent's key: a key of the plan
    alone, in which a probe counts by what it is (its recipe, variations, env) rather than by its output.
    Computing a key then never runs a dependency that the condition may leave out (a probe of the
    built-in get-python3 behind CM's install-python-src)."""
    if node.plan_key is not None:
        return node.plan_key
    stack: list[tuple[PlanNode, bool]] = [(node, False)]
    while stack:  # dependencies first, without recursion (a chain of any depth)
        n, ready = stack.pop()
        if n.plan_key is not None:
            continue
        if not ready:
            stack.append((n, True))
            stack += [(e.child, False) for e in n.edges if e.child.plan_key is None]
            continue
        n.plan_key = n.compute_key([("if:" if e.late is not None else "") + str(e.child.plan_key) for e in n.edges])
    return str(node.plan_key)


def static_key(node: PlanNode) -> str | None:
    """The key, if every dependency's contribution is known without running (dependencies' keys first)."""
    child_keys = []
    for e in node.edges:
        if e.late is not None:  # decided at run time: never waits for a probe (see conditional_key)
            child_keys.append("if:" + conditional_key(e.child))
            continue
        child = e.child
        if child.key is None or child.recipe.probe:
            return None
        child_keys.append(child.key)
    return node.compute_key(child_keys)


@dataclass
class Plan:
    root: PlanNode
    nodes: list[PlanNode]  # topological: dependencies before dependents
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # notes shown with -v only
    # a new planner with the same index and user env, for the dependencies planned at run time
    planner: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

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
