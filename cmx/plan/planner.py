"""Resolve a request into a plan before anything runs.

Selection -> variation expansion -> version choice -> env -> dependencies,
depth first, deduplicating identical nodes (``detect,os`` reached five ways is
one node), detecting cycles, and computing Merkle cache keys bottom-up where
they are knowable without running anything (a probe that has not run yet makes
its dependents' keys pending).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Generator, Mapping, Sequence, Tuple

import dataclasses

from cmx import envutil
from cmx.compat import shared_env
from cmx.compat.shared_env import Inherit
from cmx.envutil import Env
from cmx.errors import CmxError, CycleError, ResolutionImpossible, SelectionError, UnknownInputError, UsageError
from cmx.index import RecipeIndex
from cmx.plan import variations as variations_mod
from cmx.plan.inputs import check as check_declared_inputs
from cmx.plan.node import PHASES, DeferredEdge, Edge, LateDep, MetaPatch, Plan, PlanNode, static_key
from cmx.recipe import Recipe
from cmx.selector import Selector, parse
from cmx.trace import trace
from cmx.versions import VersionRequest, compare

# keys of a dependency entry that are not inputs of the called recipe
_DEP_CONTROL = {
    "tags", "names", "version", "version_min", "version_max", "version_max_usable", "enable_if_env",
    "skip_if_env", "enable_if_any_env", "skip_if_any_env", "env", "force_env_keys",
    "update_tags_from_env_with_prefix", "update_tags_from_env", "inherit_variation_tags",
    "skip_inherit_variation_groups", "extra_cache_tags", "force_cache", "dynamic", "continue_on_error",
    "skip_if_fake_run", "reuse_version", "tags_help", "comment", "_line", "adr", "add_deps_recursive", "ad", "add_deps",
}
_CONDITIONS = ("enable_if_env", "skip_if_env", "enable_if_any_env", "skip_if_any_env")
# what an update_meta_if_env patch applies: what cm 4.2 and mlc 1.3.8 were seen to apply (its adr, ad and
# default_variations they do not: measured), so the same whether it is decided at planning or at run time
_PATCH_KEYS = ("env", "default_env", "const", "state")
_UNAPPLIED_PATCH = ("adr", "add_deps_recursive", "ad", "add_deps", "default_variations")
# meta keys _choose_version reads
_VERSION_KEYS = frozenset(("version_min", "version_max", "version_max_usable", "default_version", "versions"))


@dataclass(frozen=True)
class Request:
    """What the user asked for (the root of the plan)."""

    selector: Selector
    env: Env = field(default_factory=dict)
    const: Env = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    adr: dict[str, dict[str, Any]] = field(default_factory=dict)
    ad: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str | None = None
    version_min: str | None = None
    version_max: str | None = None
    version_max_usable: str | None = None
    name: str | None = None  # select by alias/uid instead of tags


@dataclass(slots=True)
class _Context:
    """What flows from a parent into the resolution of one dependency."""

    selector: Selector
    variation_sources: list[tuple[str, str]]
    env: Env
    inputs: dict[str, Any]
    version_req: VersionRequest
    adr: dict[str, dict[str, Any]]
    source: str
    name: str | None = None
    direct_ad: dict[str, dict[str, Any]] = field(default_factory=dict)  # --ad: this node's direct deps only
    inherited: tuple[str, ...] = ()  # env keys passed from a CM/MLC dependent (cmx/compat/shared_env.py)


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_MERGED_DICTS = ("env", "default_env", "const", "state", "input_mapping", "adr", "add_deps_recursive", "ad", "add_deps")
_MERGED_LISTS = ("new_env_keys", "new_state_keys")
_LAYERED = frozenset(("script_name", *_MERGED_DICTS, *_MERGED_LISTS, *PHASES))


# the effective meta of a recipe that sets none of the merged keys (copied, never changed): what no layer
# sets is one shared, read-only empty value (merged values are never mutated: a node copies what it changes)
_ABSENT: dict[str, Any] = {
    **dict.fromkeys(("env", "default_env", "const", "state", "input_mapping", "adr", "ad"), _EMPTY),
    **dict.fromkeys(_MERGED_LISTS + PHASES, ()),
}


def _merge_effective(recipe: Recipe, overlays: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The recipe's meta with its variation/version overlays applied (runs once per plan node)."""
    eff = _ABSENT.copy()
    meta = recipe.meta
    for key in ("cache", "cache_expiration", "probe"):
        if key in meta:
            eff[key] = meta[key]
    for layer in overlays:  # a variation's (or version's) cache_expiration wins over the meta's
        if layer.get("cache_expiration"):
            eff["cache_expiration"] = layer["cache_expiration"]
    layers = [meta, *overlays]
    present = _LAYERED.intersection(meta)  # the keys to merge: a recipe sets a few of them
    for layer in overlays:
        present = present | _LAYERED.intersection(layer)
    for key in present:
        eff[key] = _MERGE[key](key, meta, layers, overlays)
    for key, alias in (("adr", "add_deps_recursive"), ("ad", "add_deps")):
        if alias in present:
            first, second = eff.pop(alias), eff[key]
            eff[key] = {**first, **second} if first and second else (second or first)
    return eff


def _merged_dict(key: str, meta: dict[str, Any], layers: list[dict[str, Any]], overlays: Sequence[dict[str, Any]]
                 ) -> dict[str, Any]:
    values = []
    for layer in layers:
        value = layer.get(key)
        if value:
            values.append(value)
    if len(values) == 1 and values[0].__class__ is dict:
        return values[0]  # one layer sets it (the usual case): that layer's own value, read only as all merged values
    merged: dict[str, Any] = {}
    for value in values:
        merged.update(value)
    return merged


def _merged_list(key: str, meta: dict[str, Any], layers: list[dict[str, Any]], overlays: Sequence[dict[str, Any]]
                 ) -> list[str]:
    seen: list[str] = []
    for layer in layers:
        for k in layer.get(key) or ():
            if k not in seen:
                seen.append(k)
    return seen


def _merged_phase(phase: str, meta: dict[str, Any], layers: list[dict[str, Any]], overlays: Sequence[dict[str, Any]]
                  ) -> list[tuple[dict[str, Any], str]]:
    """A phase's dependency entries, each with where it is declared ("deps/3"; "" in an overlay)."""
    deps = meta.get(phase)
    entries = list(zip(deps, _dep_paths(phase, len(deps)))) if deps else []
    for layer in overlays:
        entries += [(dep, "") for dep in layer.get(phase) or ()]
    return entries


_PATHS: dict[str, list[str]] = {}


def _dep_paths(phase: str, n: int) -> list[str]:
    """["deps/0", "deps/1", ...]: at least ``n`` of them, made once for all recipes."""
    paths = _PATHS.get(phase)
    if paths is None or len(paths) < n:  # (made whole, then stored: safe for planners in threads)
        paths = _PATHS[phase] = [f"{phase}/{j}" for j in range(max(n, 2 * len(paths or ()), 16))]
    return paths


def _merged_script_name(key: str, meta: dict[str, Any], layers: list[dict[str, Any]], overlays: Sequence[dict[str, Any]]
                        ) -> Any:
    name = None
    for layer in layers:
        if layer.get("script_name"):
            name = layer["script_name"]
    return name


_MERGE: dict[str, Callable[[str, dict[str, Any], list[dict[str, Any]], Sequence[dict[str, Any]]], Any]] = {
    "script_name": _merged_script_name, **dict.fromkeys(_MERGED_DICTS, _merged_dict),
    **dict.fromkeys(_MERGED_LISTS, _merged_list), **dict.fromkeys(PHASES, _merged_phase),
}


# a node being resolved (yielding the requests of its dependencies), and where to remember its node
_Pending = Tuple[Generator[Any, Any, PlanNode], Tuple[Any, ...]]

_new_tuple = tuple.__new__  # makes a named tuple from all its fields, a third of the cost of calling the class

# a dependency entry with only these keys needs no env substitution, patches or version merging
_PLAIN_DEP = frozenset({"tags", "names"})
_NO_VERSION = VersionRequest()
_NO_PATCHES: Mapping[str, dict[str, Any]] = _EMPTY


class Planner:
    def __init__(self, index: RecipeIndex, *, user_env: Env | None = None, user_const: Env | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        trace("plan", "a planner starts (selection, variations, versions, env)")
        self.index = index
        self.user_env = dict(user_env or {})
        self.user_const = dict(user_const or {})
        self.notify = notify or (lambda msg: None)
        self.nodes: dict[str, PlanNode] = {}
        self.requests: dict[tuple[str, str], PlanNode] = {}
        self._selected: dict[tuple[int, tuple[str, ...], str], tuple[Recipe, PlanNode]] = {}
        self._adr_ids: dict[int, tuple[dict[str, Any], str]] = {}
        self.order: list[PlanNode] = []
        # the nodes being resolved, root first: (identity, recipe alias, variations, where it is required);
        # their labels are formatted only for a cycle error
        self.stack: list[tuple[str, str, tuple[str, ...], str | None]] = []
        self._on_stack: set[str] = set()
        self._tag_selectors: dict[str, Selector] = {}
        self._own_repo: dict[tuple[str, str], Selector] = {}  # (repo, selector text) -> its selector (_own_first)
        self._plain_requests: dict[tuple[str, int, str], tuple[dict[str, Any], PlanNode]] = {}
        self._secret: dict[str, bool] = {}
        self._by_key: dict[str, PlanNode] = {}  # a node by its static key (see _same_work)
        self._text_cache: dict[str, str] = {}
        self.notes: list[str] = []
        self.details: list[str] = []  # notes for -v

    # -- public ---------------------------------------------------------------------
    def plan(self, req: Request) -> Plan:
        version_req = VersionRequest().merged(
            exact=req.version, minimum=req.version_min, maximum=req.version_max,
            max_usable=req.version_max_usable, source="the command line",
        )
        adr = {k: {**v, "_source": f"--adr.{k} (the command line)"} for k, v in req.adr.items()}
        ctx = _Context(
            selector=req.selector,
            variation_sources=[(v, "the command line") for v in req.selector.variations],
            env=dict(req.env),
            inputs=dict(req.inputs),
            version_req=version_req,
            adr=adr,
            source="the command line",
            name=req.name,
            direct_ad={k: {**v, "_source": f"--ad.{k} (the command line)"} for k, v in req.ad.items()},
        )
        root = self._resolve(ctx, parent=None, root=True)
        return Plan(root=root, nodes=self.order, notes=self.notes, planner=self.fresh, details=self.details)

    # -- selection --------------------------------------------------------------------
    def select(self, selector: Selector, name: str | None, source: str, note: bool = True) -> Recipe:
        if name:
            found = self.index.by_name(name)
            if not found:
                broken = self.index.broken_named(name)
                if broken:
                    broken[0].raise_error()
                import difflib
                close = difflib.get_close_matches(name, [r.alias for r in self.index.recipes], n=3)
                raise SelectionError(
                    f"no recipe named '{name}'", hint=f"did you mean {', '.join(close)}?" if close else None
                )
            return found[0]
        if not selector.tags and not selector.variations:
            raise UsageError(f"empty selector (from {source})", hint="give --tags=... or a recipe name")
        candidates = self.index.candidates(selector)  # in precedence order; raises for a broken recipe ahead
        if not candidates:
            raise self._no_match(selector, source)
        if selector.variations:
            able = [r for r in candidates if variations_mod.can_satisfy(r, selector.variations)]
            if not able:
                r = candidates[0]
                missing = [v for v in selector.variations if not variations_mod.can_satisfy(r, (v,))]
                raise variations_mod._Expander(r, ()).unknown(missing[0], source)
            candidates = able
        chosen = candidates[0]
        if len(candidates) == 1:  # (most selections)
            return chosen
        # a recipe with a higher `sort` has declared that it yields; only a tie is worth a note
        ties = [r for r in candidates[1:] if r.sort == chosen.sort and r.repo == chosen.repo]
        if ties and note:
            others = ", ".join(f"{r.alias} ({r.repo})" for r in ties[:5])
            self.notes.append(f"'{selector.text}' matched {len(ties) + 1} recipes; chose {chosen.alias} ({chosen.repo}), also: {others}")
        return chosen

    def _no_match(self, selector: Selector, source: str) -> SelectionError:
        tags = list(selector.tags)
        known = set(self.index.all_tags())
        unknown = [t for t in tags if t not in known]
        lines = [f"no recipe has all the tags {','.join(tags)} (asked by {source})"]
        hint = None
        if unknown:
            for t in unknown:
                import difflib
                close = difflib.get_close_matches(t, known, n=3)
                lines.append(f"  no recipe has the tag '{t}'" + (f"; close: {', '.join(close)}" if close else ""))
        else:
            partial = sorted(
                self.index.recipes, key=lambda r: -len(set(tags) & set(r.tags))
            )[:3]
            if partial:
                lines.append("  closest recipes: " + ", ".join(f"{r.alias} [{','.join(r.tags)}]" for r in partial))
        if selector.not_tags:
            lines.append(f"  excluded tags: {','.join(selector.not_tags)}")
        if selector.repo:
            lines.append(f"  searched only repository '{selector.repo}'")
        hint = "list recipes with `cmx find script --tags=...`"
        return SelectionError("\n".join(lines), hint=hint)

    # -- resolution ------------------------------------------------------------------
    # Resolution is depth first but not recursive: each node being resolved is a generator that
    # yields the pending resolution of a new dependency and is sent back its node; _resolve
    # drives them from an explicit stack, so a chain of any depth plans (Python's recursion limit
    # would stop a recursive planner after a few hundred levels) and cycles are still detected
    # exactly, on the stack of nodes being resolved.
    def _resolve(self, ctx: _Context, parent: PlanNode | None, root: bool = False) -> PlanNode:
        first = self._lookup(ctx, parent, root)
        if first.__class__ is PlanNode:
            return first  # type: ignore[return-value]
        return self._drive([first])  # type: ignore[list-item]

    def _drive(self, work: list[_Pending]) -> PlanNode:
        """Run the pending resolutions of ``work`` (the last one first) to the node of the first."""
        value: PlanNode | None = None
        error: Exception | None = None
        while True:
            gen, keys = work[-1]
            try:
                if error is not None:
                    exc, error = error, None
                    request = gen.throw(exc)
                else:
                    request = gen.send(value)
            except StopIteration as done:
                node: PlanNode = done.value
                work.pop()
                if keys:  # (request key, selected key, recipe) of a dependency's request
                    self.requests[keys[0]] = node
                    self._selected[keys[1]] = (keys[2], node)
                if not work:
                    return node
                value = node
                continue
            except Exception as exc:  # noqa: BLE001 - passed on to the dependent, as a call would
                work.pop()
                if not work:
                    raise
                error = exc
                continue
            work.append(request)  # a dependency to resolve first: its node is sent back
            value = None

    def _lookup(self, ctx: _Context, parent: PlanNode | None, root: bool) -> "PlanNode | _Pending":
        """The node of a request already resolved, or the generator that will resolve it."""
        if root:
            recipe = self.select(ctx.selector, ctx.name, ctx.source)
            started = self._resolve_new(ctx, parent, root, recipe)
            return started if started.__class__ is PlanNode else (started, ())  # type: ignore[return-value]
        # the same request from another dependent: reuse the finished node without resolving again
        vreq = ctx.version_req
        rest: Any
        if not ctx.variation_sources and not ctx.env and not ctx.inputs and vreq is _NO_VERSION:
            rest = self._adr_identity(ctx.adr)  # tags only (the usual dependency): a short key
        else:
            rest = repr((
                ctx.variation_sources and [v for v, _ in ctx.variation_sources],
                sorted(ctx.env.items()) if ctx.env else [], sorted(ctx.inputs.items()) if ctx.inputs else [],
                "" if vreq is _NO_VERSION else vreq.describe(), vreq.max_usable, self._adr_identity(ctx.adr),
            ))
        if ctx.direct_ad:  # (an entry's ad: patches for the dependency's own dependencies)
            rest = repr((rest, _patch_identity(ctx.direct_ad)))
        return self._known_or_new(ctx.selector, ctx.name, ctx.source, rest, parent, lambda: ctx)

    def _known_or_new(self, selector: Selector, name: str | None, source: str, rest: Any, parent: PlanNode | None,
                      context: Callable[[], _Context]) -> "PlanNode | _Pending":
        """_lookup once the request is keyed (``rest``: all of it but the selector); ``context`` makes the
        request's _Context, needed only for a node not seen before."""
        request_key = (selector.text, rest)
        known = self.requests.get(request_key)
        if known is not None:
            if parent is not None:
                known.parents.append((parent, source))
            return known
        recipe = self.select(selector, name, source)
        # another spelling of a request already resolved (other tags selecting the same recipe, with
        # the same variations, env, inputs, versions and patches): the same node. Only the sources
        # of the variations differ, and they only name who asked in errors.
        selected_key = (id(recipe), selector.not_variations, rest)
        seen = self._selected.get(selected_key)
        if seen is not None and seen[0] is recipe:
            node = seen[1]
            self.requests[request_key] = node
            if parent is not None:
                node.parents.append((parent, source))
            return node
        started = self._resolve_new(context(), parent, False, recipe)
        if started.__class__ is PlanNode:  # finished at once: remember it as _resolve does
            self.requests[request_key] = started  # type: ignore[assignment]
            self._selected[selected_key] = (recipe, started)  # type: ignore[assignment]
            return started  # type: ignore[return-value]
        return started, (request_key, selected_key, recipe)  # type: ignore[return-value]

    def _resolve_new(self, ctx: _Context, parent: PlanNode | None, root: bool, recipe: Recipe
                     ) -> "PlanNode | Generator[_Pending, PlanNode, PlanNode]":
        """The node of a request not seen before: finished at once when it has no dependency (most nodes
        of a large plan are leaves: no generator to create, resume and stop), else the generator that
        yields its dependencies' requests (see _resolve)."""
        resolved = variations_mod.expand(recipe, ctx.variation_sources, ctx.selector.not_variations)
        eff = _merge_effective(recipe, resolved.overlays)
        version, version_req, version_overlay = self._choose_version(recipe, resolved.overlays, ctx.version_req)
        if version_overlay:
            eff = _merge_effective(recipe, (version_overlay, *resolved.overlays))
        env, key_env = self._node_env(recipe, eff, ctx, root)
        if ctx.inputs and not root and recipe.foreign:
            ctx.inputs = self._mapped_only(recipe, eff, ctx)
        meta_patches: tuple[MetaPatch, ...] = ()
        if recipe.foreign and ("update_meta_if_env" in recipe.meta or any(
                "update_meta_if_env" in ov for ov in (version_overlay or {}, *resolved.overlays))):
            layers = (*((version_overlay,) if version_overlay else ()), *resolved.overlays)
            meta_patches = self._meta_if_env(recipe, layers, env)
            held = [p.patch for p in meta_patches if p.applied]
            if held:  # decided now: applied as one more overlay, after the variations (cm re-applies them last)
                eff = _merge_effective(recipe, (*layers, *held))
                env, key_env = self._node_env(recipe, eff, ctx, root)
        own_adr = eff["adr"]
        # no patches (the usual case): one shared, read-only mapping, so that dependents of different
        # nodes can share a request (see _dep_edge)
        child_adr: dict[str, dict[str, Any]] = \
            {k: {**v, "_source": f"adr of {recipe.alias}"} for k, v in own_adr.items()} if own_adr or ctx.adr \
            else _NO_PATCHES  # type: ignore[assignment]
        own_ad = eff["ad"]
        direct_ad: dict[str, dict[str, Any]] = \
            {**{k: {**v, "_source": f"ad of {recipe.alias}"} for k, v in own_ad.items()}, **ctx.direct_ad} \
            if own_ad or ctx.direct_ad else _NO_PATCHES  # type: ignore[assignment]
        if ctx.adr:  # closer to the user wins
            child_adr = _merged_patches(child_adr, ctx.adr)
        # identity of a node for deduplication: a canonical string is enough (no need to hash it)
        identity = repr((
            recipe.uid, recipe.digest, resolved.names, version,
            "" if version_req is _NO_VERSION else version_req.describe(), sorted(env.items()),
            sorted(ctx.inputs.items()) if ctx.inputs else [], _patch_identity(child_adr) if child_adr else [],
            _patch_identity(direct_ad) if direct_ad else [],
        ))
        frame = (identity, recipe.alias, resolved.names, None if root else ctx.source)
        if identity in self._on_stack:
            start = [f[0] for f in self.stack].index(identity)
            raise CycleError([_frame_label(f) for f in self.stack[start:]] + [_frame_label(frame)])
        existing = self.nodes.get(identity)
        if existing is not None:
            if parent is not None:
                existing.parents.append((parent, ctx.source))
            return existing
        if ctx.inputs:
            self._check_inputs(recipe, eff, ctx)
        check_declared_inputs(recipe, resolved.overlays, eff["input_mapping"], env, ctx.source)
        state = eff["state"]
        node = PlanNode(
            index=-1, recipe=recipe, variations=resolved.names, version=version, version_req=version_req,
            env=env, key_env=key_env, state=copy.deepcopy(state) if state else {}, inputs=dict(ctx.inputs),
            effective=eff, identity=identity, given_env=dict(ctx.env) if ctx.env else {},
            pinned={**self.user_env, **eff["const"], **self.user_const}, inherited=ctx.inherited,
            meta_patches=meta_patches,
        )
        if parent is not None:
            node.parents.append((parent, ctx.source))
        for phase in PHASES:
            if eff[phase]:
                return self._resolve_deps(node, frame, eff, child_adr, direct_ad)
        return self._finish(node)

    def _resolve_deps(self, node: PlanNode, frame: tuple[str, str, tuple[str, ...], str | None],
                      eff: dict[str, Any], child_adr: dict[str, dict[str, Any]], direct_ad: dict[str, dict[str, Any]]
                      ) -> Generator[_Pending, PlanNode, PlanNode]:
        recipe, identity = node.recipe, node.identity
        self.stack.append(frame)
        self._on_stack.add(identity)
        try:
            foreign = recipe.foreign  # passes its env to its dependencies (shared_env)
            for phase in PHASES:
                first_edge = len(node.edges)  # this phase's edges start here
                for dep, path in eff[phase]:
                    names = dep.get("names")
                    if not foreign and dep.keys() <= _PLAIN_DEP and (not (direct_ad or child_adr) or not names or not any(
                            direct_ad.get(n) or child_adr.get(n) for n in names)):
                        # only tags (and names no patch applies to): what _dep_edge computes, minus the no-ops
                        source = self._where(recipe, path)
                        tags = dep.get("tags")
                        found = self._plain_child(node, tags, source, child_adr)
                        if found.__class__ is not PlanNode:
                            found = yield found
                            self._remember_plain(tags, child_adr, found, recipe.repo)
                        # (Edge(phase, found, names, source), without the named tuple's Python-level __new__)
                        edge = _new_tuple(Edge, (phase, found, tuple(names) if names else (), source, None, False, None))
                    else:
                        # the new_env_keys patterns of earlier siblings decide when its conditions are read
                        exported = [k for e in node.edges[first_edge:] for k in e.child.effective["new_env_keys"]]
                        edge = yield from self._dep_edge(node, phase, dep, path, child_adr, direct_ad, exported)
                    if edge is not None:
                        node.edges.append(edge)
        finally:
            self.stack.pop()
            self._on_stack.discard(identity)
        return self._finish(node)

    def _finish(self, node: PlanNode) -> PlanNode:
        """Key a node whose dependencies are resolved and add it to the plan (or return the node of the
        same work, see _same_work)."""
        identity = node.identity
        node.key = self.static_key(node)
        if node.key is not None:
            same = self._by_key.get(node.key)
            if same is not None and _same_work(same, node):
                # the same work reached with patches (an ancestor's adr) that applied to nothing below it:
                # one node, never what looks like duplicate work in the plan
                for e in node.edges:
                    e.child.parents[:] = [p for p in e.child.parents if p[0] is not node]
                same.parents.extend(node.parents)
                self.nodes[identity] = same
                return same
            self._by_key.setdefault(node.key, node)
        node.index = len(self.order)
        self.order.append(node)
        self.nodes[identity] = node
        return node

    def _meta_if_env(self, recipe: Recipe, layers: Sequence[dict[str, Any]], env: Env) -> tuple[MetaPatch, ...]:
        """A CM/MLC recipe's ``update_meta_if_env`` entries (its meta's, its version's, its variations'), each
        decided now if the env holds every key its condition reads, else at run time."""
        out = []
        entries = [(e, f"update_meta_if_env/{j}") for j, e in enumerate(recipe.meta.get("update_meta_if_env") or ())]
        for layer in layers:
            entries += [(e, "") for e in layer.get("update_meta_if_env") or ()]
        for entry, path in entries:
            condition = {k: entry[k] for k in _CONDITIONS if k in entry}
            patch = {k: entry[k] for k in _PATCH_KEYS if entry.get(k)}
            source = self._where(recipe, path)
            unapplied = [k for k in _UNAPPLIED_PATCH if entry.get(k)]
            if unapplied:  # (as cm and mlc: docs/compat.md)
                self._note(f"{source}: the {', '.join(unapplied)} of an update_meta_if_env entry are not applied")
            if all(k in env for k in envutil.condition_keys(condition)):
                out.append(MetaPatch(condition, patch, source, False, envutil.dep_enabled(condition, env)))
            else:
                out.append(MetaPatch(condition, patch, source, True))
        return tuple(out)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _adr_identity(self, adr: dict[str, dict[str, Any]]) -> str:
        """The patches' identity, once per patch dict (all deps of a node share one)."""
        if not adr:
            return "[]"  # repr(_patch_identity({}))
        known = self._adr_ids.get(id(adr))
        if known is None or known[0] is not adr:
            known = (adr, repr(_patch_identity(adr)))
            self._adr_ids[id(adr)] = known
        return known[1]

    def _where(self, recipe: Recipe, path: str) -> str:
        """file:line of a dependency entry (it names every requirement)."""
        line = recipe.lines.get(path) if path else None
        if line:  # the common case, without building a Location
            return f"{recipe.meta_file_text}:{line}"
        return str(recipe.location(*path.split("/"))) if path else f"{recipe.alias} (a variation or version)"

    def _dep_selector(self, tags: Any, env: Env) -> Selector:
        """The selector of a dependency's ``tags`` (placeholders filled from ``env``)."""
        if isinstance(tags, str) and "<<<" not in tags:
            if " " not in tags and ",," not in tags and tags[:1] != "," and tags[-1:] != ",":
                return parse(tags)  # (parse keeps what it parsed)
            known = self._tag_selectors.get(tags)
            if known is None:
                known = self._tag_selectors[tags] = parse(",".join(_tag_list(tags)))
            return known
        return parse(",".join(_tag_list(envutil.substitute(tags, env))))

    def _own_first(self, recipe: Recipe, selector: Selector) -> Selector:
        """The selector of a CM/MLC recipe's dependency: qualified with the recipe's own repository when a
        recipe there (readable or not) has its tags, as cm and mlc, which know only the repositories the
        user pulled, would choose it; otherwise unchanged (the [precedence](docs/user-guide.md#precedence):
        built-ins first). A recipe of ours, or a dependency that names its repository, keeps the precedence."""
        if selector.repo or not selector.tags or not recipe.foreign:
            return selector
        key = (recipe.repo, selector.text)
        known = self._own_repo.get(key)
        if known is None:
            own = self.index.with_tags(selector.tags, selector.not_tags, recipe.repo) or \
                self.index.broken_with_tags(selector.tags, recipe.repo, selector.not_tags)
            known = Selector(selector.tags, selector.not_tags, selector.variations, selector.not_variations,
                             f"{recipe.repo}:{selector.text}", recipe.repo) if own else selector
            self._own_repo[key] = known
        return known

    def static_key(self, node: PlanNode) -> str | None:
        return static_key(node)

    def _choose_version(self, recipe: Recipe, overlays: tuple[dict[str, Any], ...], req: VersionRequest
                        ) -> tuple[str | None, VersionRequest, dict[str, Any] | None]:
        meta = recipe.meta
        if (req is _NO_VERSION or req == _NO_VERSION) and _VERSION_KEYS.isdisjoint(meta) \
                and not any("version" in ov or "default_version" in ov for ov in overlays):
            return None, req, None  # nothing asks for or declares a version (most recipes)
        if meta.get("version_min") is not None:
            req = req.merged(minimum=_opt(meta.get("version_min")), source=f"{recipe.location('version_min')}")
        if meta.get("version_max") is not None or meta.get("version_max_usable") is not None:
            req = req.merged(maximum=_opt(meta.get("version_max")), max_usable=_opt(meta.get("version_max_usable")),
                             source=f"{recipe.location('version_max')}")
        default = meta.get("default_version")
        for ov in overlays:
            if ov.get("version") is not None:
                req = req.merged(exact=str(ov["version"]), source=f"a variation of {recipe.alias}")
            if ov.get("default_version") is not None:
                default = ov["default_version"]
        if req.minimum and req.maximum and compare(req.minimum[0], req.maximum[0]) > 0:
            raise ResolutionImpossible(f"the version of '{recipe.alias}'", req.causes(), "no version is both >= min and <= max")
        version: str | None = None
        if req.exact:
            version = req.exact[0]
            if not req.admits(version):
                raise ResolutionImpossible(f"the version of '{recipe.alias}'", req.causes(), f"version {version} is outside the allowed range")
        elif default is not None:
            version = str(default)
            if req.minimum and compare(version, req.minimum[0]) < 0:
                version = req.minimum[0]
            if req.maximum and compare(version, req.maximum[0]) > 0:
                version = req.max_usable or req.maximum[0]
        versions = meta.get("versions") or {}
        overlay = versions.get(version) if version is not None else None
        return version, req, (overlay or None)

    def _node_env(self, recipe: Recipe, eff: dict[str, Any], ctx: _Context, root: bool) -> tuple[Env, Env]:
        merge = envutil.merge_env
        env: Env = {}
        if ctx.env:
            merge(env, ctx.env)
        if eff["default_env"]:
            merge(env, eff["default_env"], only_missing=True)
        if eff["env"]:
            merge(env, eff["env"])
        for flag, value in ctx.inputs.items():
            target = eff["input_mapping"].get(flag)
            if target:  # env values are strings, whatever YAML or JSON made of them
                env[target] = ("yes" if value else "no") if isinstance(value, bool) else \
                    (value if isinstance(value, (str, list, dict)) else str(value))
        for layer in (self.user_env, eff["const"], self.user_const):
            if layer:
                merge(env, layer)
        substitute = envutil.substitute
        # plain strings (the usual value) have nothing to substitute
        env = {k: v if v.__class__ is str and "<<<" not in v else substitute(v, env) for k, v in env.items()}
        secret = self._secret
        user = self.user_env or self.user_const
        left_out = []  # what does not enter the key: secrets, and the user's env where the recipe never reads it
        for k in env:
            hidden = secret.get(k)
            if hidden is None:
                hidden = secret[k] = envutil.is_secret(k)
            if hidden:
                left_out.append(k)
            elif user:
                from_user = (k in self.user_env or k in self.user_const) and k not in ctx.env
                if from_user and not root and not self._mentions(recipe, eff, k):
                    left_out.append(k)
        # (both are read only: the executor copies env before changing it)
        key_env = {k: v for k, v in env.items() if k not in left_out} if left_out else env
        return env, key_env

    def _mentions(self, recipe: Recipe, eff: dict[str, Any], key: str) -> bool:
        """Does the recipe refer to env ``key`` (meta or any of its files)?"""
        text = self._text_cache.get(recipe.uid)
        if text is None:
            parts = [repr(recipe.meta)]
            for name, _ in recipe.file_digests:
                try:
                    parts.append((recipe.path / name).read_text(encoding="utf-8", errors="replace"))
                except OSError:
                    pass
            text = "\n".join(parts)
            self._text_cache[recipe.uid] = text
        if key in text:
            return True
        return envutil.key_matches(key, eff["new_env_keys"])

    def _check_inputs(self, recipe: Recipe, eff: dict[str, Any], ctx: _Context) -> None:
        mapping = eff["input_mapping"]
        for flag in ctx.inputs:
            if flag not in mapping:
                import difflib

                from cmx.meta.schema import DEP_KEYS

                close = difflib.get_close_matches(flag, list(mapping), n=1)
                hint = f"did you mean --{close[0]}?" if close else None
                if ctx.source != "the command line":
                    as_key = difflib.get_close_matches(flag, list(DEP_KEYS), n=1, cutoff=0.75)
                    if as_key:
                        hint = f"did you mean the dependency key '{as_key[0]}'?"
                raise UnknownInputError(recipe.alias, flag, ctx.source, list(mapping), hint=hint)

    def _mapped_only(self, recipe: Recipe, eff: dict[str, Any], ctx: _Context) -> dict[str, Any]:
        """The inputs a dependency entry passes to a CM/MLC recipe that its input_mapping maps: cm ignores the
        others (``md5sum``, a misspelt ``force-cache``), so they are left out (of its env, its hooks' input and
        its key), with a note for -v. (Our recipes refuse them: _check_inputs.)"""
        mapping = eff["input_mapping"]
        unmapped = [k for k in ctx.inputs if k not in mapping]
        if not unmapped:
            return ctx.inputs
        import difflib

        from cmx.meta.schema import DEP_KEYS

        for flag in unmapped:
            close = difflib.get_close_matches(flag, list(DEP_KEYS), n=1, cutoff=0.75)
            text = (f"{ctx.source}: recipe '{recipe.alias}' has no input --{flag}; ignored, as cm does"
                    + (f" (did you mean the dependency key '{close[0]}'?)" if close else ""))
            if text not in self.details:
                self.details.append(text)
        return {k: v for k, v in ctx.inputs.items() if k in mapping}

    def _plain_child(self, node: PlanNode, tags: Any, source: str, adr: dict[str, dict[str, Any]]
                     ) -> "PlanNode | _Pending":
        """The child of a dependency given by tags only (no patch applies): its node, or its pending resolution.

        Its request is then a function of the tags and the patches passed down: a dependency shared by many
        recipes (detect,os) is found here without building its request again."""
        memo_key = (tags, id(adr), node.recipe.repo) if isinstance(tags, str) and "<<<" not in tags else None
        if memo_key is not None:
            known = self._plain_requests.get(memo_key)
            if known is not None and known[0] is adr:
                child = known[1]
                child.parents.append((node, source))
                return child
            found = self._by_sole_recipe(node, tags, source, adr)
            if found is not None:
                if found.__class__ is PlanNode:
                    self._plain_requests[memo_key] = (adr, found)  # type: ignore[assignment]
                return found
        selector = self._own_first(node.recipe, self._dep_selector(tags, node.env))
        if selector.variations:
            ctx = _Context(selector=selector, variation_sources=[(v, source) for v in selector.variations], env={},
                           inputs={}, version_req=_NO_VERSION, adr=adr, source=source)
            found = self._lookup(ctx, node, False)
        else:  # keyed as _lookup keys it, without a _Context unless the node is new
            found = self._known_or_new(selector, None, source, self._adr_identity(adr) if adr else "[]", node,
                                       lambda: _Context(selector=selector, variation_sources=[], env={}, inputs={},
                                                        version_req=_NO_VERSION, adr=adr, source=source))
        if memo_key is not None and found.__class__ is PlanNode:
            self._plain_requests[memo_key] = (adr, found)  # type: ignore[assignment]  # holds adr: its id is not reused
        return found

    def _by_sole_recipe(self, node: PlanNode, text: str, source: str, adr: dict[str, dict[str, Any]]
                        ) -> "PlanNode | _Pending | None":
        """What ``_known_or_new`` gives for plain tags ``text`` whose tags only one recipe has (the usual
        dependency request), without selecting: the node of that recipe for these patches (the same tags in
        another order or a subset of them: a different text, the same node), or the resolution of a new
        one; None (nothing done) to resolve the request the usual way.

        When every comma-separated token of an ASCII text is a tag of the one recipe that has them all
        (``RecipeIndex.sole_with_tags``), the text is plain tags (no empty token, variation, exclusion,
        space or repository: no tag has one), ``parse`` gives exactly these tags, and ``select`` picks that
        recipe, with no note (one candidate) when no recipe is broken."""
        index = self.index
        if index.broken or not text.isascii() or node.recipe.foreign:
            return None  # (a CM/MLC recipe's dependency is looked for in its own repository first: _own_first)
        recipe = index.sole_with_tags(text.split(","))
        if recipe is None:
            return None
        rest = self._adr_identity(adr) if adr else "[]"
        selected_key = (id(recipe), (), rest)
        seen = self._selected.get(selected_key)
        if seen is not None and seen[0] is recipe:
            node_seen = seen[1]
            node_seen.parents.append((node, source))
            return node_seen
        # a request not seen before (its text would be in _plain_requests): resolved as _known_or_new does
        selector = parse(text)
        ctx = _Context(selector=selector, variation_sources=[], env={}, inputs={}, version_req=_NO_VERSION, adr=adr,
                       source=source)
        request_key = (selector.text, rest)
        started = self._resolve_new(ctx, node, False, recipe)
        if started.__class__ is PlanNode:
            self.requests[request_key] = started  # type: ignore[assignment]
            self._selected[selected_key] = (recipe, started)  # type: ignore[assignment]
            return started  # type: ignore[return-value]
        return started, (request_key, selected_key, recipe)  # type: ignore[return-value]

    def _remember_plain(self, tags: Any, adr: dict[str, dict[str, Any]], child: PlanNode, repo: str) -> None:
        if isinstance(tags, str) and "<<<" not in tags:
            self._plain_requests[(tags, id(adr), repo)] = (adr, child)  # holds adr: its id is not reused

    def _dep_edge(self, node: PlanNode, phase: str, dep: dict[str, Any], path: str,
                  adr: dict[str, dict[str, Any]], ad: dict[str, dict[str, Any]], exported: list[str],
                  inherit_from: Env | None = None) -> Generator[_Pending, PlanNode, Edge | None]:
        recipe = node.recipe
        source = self._where(recipe, path)
        names = tuple(dep.get("names") or ())
        dep = dict(dep)
        version_patches: list[tuple[dict[str, Any], str]] = []
        for name in names:  # direct (ad) then recursive (adr) patches, adr wins
            for patches in (ad, adr):
                patch = patches.get(name)
                if patch:
                    tags = _unique(_tag_list(dep.get("tags")) + _tag_list(patch.get("tags")))
                    env = {**(dep.get("env") or {}), **(patch.get("env") or {})}
                    versions = {k: patch[k] for k in ("version", "version_min", "version_max", "version_max_usable") if k in patch}
                    if versions:
                        version_patches.append((versions, str(patch.get("_source", f"--adr.{name}"))))
                    dep.update({k: v for k, v in patch.items() if k not in ("tags", "env", "_source") and k not in versions})
                    dep["tags"] = ",".join(tags)
                    dep["env"] = env
        condition_fields = {k: dep[k] for k in ("enable_if_env", "skip_if_env", "enable_if_any_env", "skip_if_any_env") if k in dep}
        condition: dict[str, Any] | None = None
        if condition_fields:
            # a CM/MLC recipe's conditions read a shared env that earlier steps fill: decided at run time
            deferred = phase != "deps" or recipe.foreign or any(
                envutil.key_matches(k, exported) for k in envutil.condition_keys(dep)
            )
            if deferred:
                condition = condition_fields
            elif not envutil.dep_enabled(dep, node.env):
                return None
        tag_text, child_env, inputs = dep_request(dep, node.env)
        try:
            selector = self._own_first(recipe, parse(tag_text))
        except CmxError as exc:  # a placeholder of env not known yet (<<<CM_X>>> that preprocess sets)
            if condition is None or not recipe.foreign:
                raise
            after = sum(1 for e in node.edges if e.phase == phase)
            node.deferred.append(DeferredEdge(phase, source, tag_text, condition, str(exc).split("\n")[0], after,
                                              self._late(phase, dep, path, adr, ad, tag_text, child_env, inputs)))
            return None
        inherit = None
        var_sources = [(v, f"{source}") for v in selector.variations]
        if dep.get("inherit_variation_tags"):
            skip = set(dep.get("skip_inherit_variation_groups") or [])
            defs = recipe.meta.get("variations") or {}
            for v in node.variations:
                group = (defs.get(v) or defs.get(v.split(".")[0] + ".#") or {}).get("group")
                if group not in skip and (v, source) not in var_sources:
                    var_sources.append((v, f"inherited from {node.label}"))
            selector = selector.with_variations(tuple(v for v, _ in var_sources))
        inherited: tuple[str, ...] = ()
        if recipe.foreign:  # CM's shared env: what the dependency could read of this one's
            inherit = self._inherit(node, phase, selector, source)
            if inherit is not None:
                passed = inherit.passed(node.env if inherit_from is None else inherit_from)
                if phase == "deps":  # the dependent's planned env; a hook phase's is the one it has when it runs
                    inherit = dataclasses.replace(inherit, fixed=passed)
                inherited = tuple(sorted(k for k in passed if k not in child_env))
                child_env = {**passed, **child_env}  # the entry's env on top (cm merges it last)
        version_req = VersionRequest().merged(
            exact=_opt(dep.get("version")), minimum=_opt(dep.get("version_min")),
            maximum=_opt(dep.get("version_max")), max_usable=_opt(dep.get("version_max_usable")), source=source,
        )
        for patch, patch_source in version_patches:
            version_req = version_req.merged(
                exact=_opt(patch.get("version")), minimum=_opt(patch.get("version_min")),
                maximum=_opt(patch.get("version_max")), max_usable=_opt(patch.get("version_max_usable")),
                source=patch_source, override_exact=True,
            )
        if dep.get("reuse_version") and node.version:
            version_req = version_req.merged(exact=node.version, source=f"reuse_version from {node.label}")
        entry_adr = dep.get("adr") or dep.get("add_deps_recursive")
        if entry_adr:  # the entry's own patches for the dependency's subtree; the ones from above win
            adr = _merged_patches({k: {**v, "_source": f"adr of the dependency at {source}"} for k, v in entry_adr.items()},
                                  adr)
        entry_ad = dep.get("ad") or dep.get("add_deps")
        ctx = _Context(
            selector=selector, variation_sources=var_sources, env=child_env, inputs=inputs,
            version_req=version_req, adr=adr, source=source, inherited=inherited,
            direct_ad={k: {**v, "_source": f"ad of the dependency at {source}"} for k, v in entry_ad.items()}
            if entry_ad else {},
        )
        try:
            found = self._lookup(ctx, node, False)
            child = found if found.__class__ is PlanNode else (yield found)
        except CmxError as exc:
            # a dependency decided by env that earlier steps produce (CM's `enable_if_env` on
            # CM_REQUIRE_INSTALL) is not expanded up front when it cannot be: it closes a cycle (get-cmake
            # -> install-cmake-prebuilt -> get-cmake, which the env breaks at run time), or a CM/MLC
            # recipe's dependency cannot be selected. It is decided when the env is known.
            if condition is None or not (isinstance(exc, CycleError) or recipe.foreign):
                raise
            after = sum(1 for e in node.edges if e.phase == phase)
            node.deferred.append(DeferredEdge(phase, source, tag_text, condition, str(exc).split("\n")[0], after,
                                              self._late(phase, dep, path, adr, ad, tag_text, child_env, inputs, inherit)))
            return None
        # decided at run time: a conditional dependency, and a hook dependency whose tags, env or inputs read
        # the env (preprocess runs before it: get-mlperf-inference-src's _branch. from CM_GIT_CHECKOUT)
        # (and a hook dependency that gets the env its CM/MLC dependent has after preprocess)
        late = None if condition is None and (phase == "deps" or not (_reads_env(dep) or inherit is not None)) else \
            self._late(phase, dep, path, adr, ad, tag_text, child_env, inputs, inherit)
        return Edge(phase=phase, child=child, names=names, source=source, condition=condition,
                    continue_on_error=bool(dep.get("continue_on_error")), late=late)

    @staticmethod
    def _late(phase: str, dep: dict[str, Any], path: str, adr: dict[str, dict[str, Any]],
              ad: dict[str, dict[str, Any]], tags: str, env: Env, inputs: dict[str, Any],
              inherit: Inherit | None = None) -> LateDep:
        # the entry as patched (applying the adr patches again at run time changes nothing; ad was direct)
        plain = {k: v for k, v in dep.items() if k not in _CONDITIONS}
        return LateDep(phase, plain, path, adr, {}, _signature(tags, env, inputs), inherit)

    def _inherit(self, node: PlanNode, phase: str, selector: Selector, source: str) -> Inherit | None:
        """What a dependency entry of a CM/MLC recipe passes to the CM/MLC recipe it selects (None: nothing,
        the dependency is one of our own recipes, or cannot be selected; _lookup then says why)."""
        try:
            child = self.select(selector, None, source, note=False)
        except CmxError:
            return None
        if not child.foreign:
            return None
        reach = shared_env.reach_for(self.index)
        local = shared_env.LOCAL_KEYS
        own_local = node.recipe.meta.get("local_env_keys") if phase in ("deps", "prehook_deps") else None
        if own_local:
            local = local + tuple(own_local)
        exports = tuple(p for p in child.meta.get("new_env_keys") or () if "*" in p or "?" in p)
        return Inherit(reach.reads(child), exports, local, frozenset(self.user_env) | frozenset(self.user_const))

    # -- dependencies decided at run time ----------------------------------------------
    def plan_late(self, node: PlanNode, late: LateDep, env: Env) -> Plan:
        """Plan a conditional dependency of ``node`` whose condition holds now, on the env its step has now
        (outputs of earlier steps, what preprocess set): the dependency is the root of the plan returned."""
        import dataclasses

        shadow = dataclasses.replace(node, env=dict(env), edges=[], deferred=[], parents=[])
        gen = self._dep_edge(shadow, late.phase, dict(late.dep), late.path, dict(late.adr), dict(late.ad), [],
                             inherit_from=node.env if late.phase == "deps" else env)
        value: PlanNode | None = None
        error: Exception | None = None
        while True:
            try:
                request = gen.throw(error) if error is not None else gen.send(value)  # type: ignore[arg-type]
            except StopIteration as done:
                edge = done.value
                break
            error, value = None, None
            try:
                value = self._drive([request])
            except Exception as exc:  # noqa: BLE001 - thrown into the dependency's resolution, as _resolve does
                error = exc
        child = edge.child
        child.parents[:] = [p for p in child.parents if p[0] is not shadow]
        return Plan(root=child, nodes=self.order, notes=self.notes, planner=self.fresh, details=self.details)

    def fresh(self) -> "Planner":
        """A planner with the same index and user env (for dependencies planned at run time)."""
        return Planner(self.index, user_env=self.user_env, user_const=self.user_const, notify=self.notify)


def dep_request(dep: Mapping[str, Any], env: Env) -> tuple[str, Env, dict[str, Any]]:
    """The tags, env and inputs a dependency entry asks for on ``env``: ``<<<KEY>>>`` placeholders,
    ``update_tags_from_env``/``_with_prefix`` and ``force_env_keys`` read it."""
    tag_text = ",".join(_tag_list(envutil.substitute(dep.get("tags"), env)))
    for prefix, keys in (dep.get("update_tags_from_env_with_prefix") or {}).items():
        for k in keys:
            if env.get(k) not in (None, ""):
                tag_text += f",{prefix}{env[k]}"
    for k in dep.get("update_tags_from_env") or []:
        if env.get(k) not in (None, ""):
            tag_text += f",{env[k]}"
    child_env = envutil.substitute(dict(dep.get("env") or {}), env)
    for pattern in dep.get("force_env_keys") or []:
        for k, v in env.items():
            if envutil.key_matches(k, [pattern]):
                child_env.setdefault(k, v)
    inputs = {k: envutil.substitute(v, env) for k, v in dep.items() if k not in _DEP_CONTROL}
    return tag_text, child_env, inputs


def _reads_env(dep: Mapping[str, Any]) -> bool:
    """Does a dependency entry's request depend on its dependent's env (see dep_request)?"""
    if dep.get("update_tags_from_env") or dep.get("update_tags_from_env_with_prefix") or dep.get("force_env_keys"):
        return True
    return "<<<" in repr({k: v for k, v in dep.items() if k != "names"})


def _signature(tags: str, env: Env, inputs: dict[str, Any]) -> tuple[str, str, str]:
    return tags, repr(sorted(env.items())), repr(sorted(inputs.items()))


def late_request(late: LateDep, env: Env) -> tuple[str, str, str]:
    """The request of a conditional dependency on the env its step has at run time (compared with
    ``late.request``, the one planned)."""
    tags, child_env, inputs = dep_request(late.dep, env)
    if late.inherit is not None:  # the env a CM/MLC dependent passes (a hook phase's: the one it has now)
        child_env = {**late.inherit.passed(env), **child_env}
    return _signature(tags, child_env, inputs)


def _same_work(a: PlanNode, b: PlanNode) -> bool:
    """Two nodes of one key that differ only in their identity's patches: the same recipe, variations,
    version, env, state and inputs, and the very same dependency nodes."""
    return a.recipe is b.recipe and a.variations == b.variations and a.version == b.version \
        and a.env == b.env and a.given_env == b.given_env and a.pinned == b.pinned and a.state == b.state \
        and a.inputs == b.inputs and len(a.edges) == len(b.edges) \
        and all(x.child is y.child and x.phase == y.phase and x.names == y.names and x.condition == y.condition
                and x.continue_on_error == y.continue_on_error for x, y in zip(a.edges, b.edges))


def _frame_label(frame: tuple[str, str, tuple[str, ...], str | None]) -> str:
    """How a node on the resolution stack is named in a cycle error."""
    _, alias, names, source = frame
    return alias + "".join(f",_{v}" for v in names) + ("" if source is None else f" (required at {source})")


def _merged_patches(base: dict[str, dict[str, Any]], over: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """adr patches ``over`` applied on ``base`` (tags appended, other fields replaced), as a node merges the
    patches passed to it over its own."""
    merged = dict(base)
    for name, patch in over.items():
        one = dict(merged.get(name, {}))
        tags = _unique(_tag_list(one.get("tags")) + _tag_list(patch.get("tags")))
        one.update(patch)
        if tags:
            one["tags"] = ",".join(tags)
        merged[name] = one
    return merged


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _patch_identity(patches: dict[str, dict[str, Any]]) -> list[Any]:
    """What a set of adr/ad patches means for resolution (not who declared them)."""
    return sorted((k, sorted((f, repr(v)) for f, v in p.items() if f != "_source")) for k, p in patches.items())


def _tag_list(tags: Any) -> list[str]:
    if not tags:
        return []
    if isinstance(tags, (list, tuple)):
        tags = ",".join(str(t) for t in tags)
    return [t for t in str(tags).replace(" ", ",").split(",") if t]


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)
