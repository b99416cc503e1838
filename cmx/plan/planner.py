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
from typing import Any, Callable

from cmx import envutil
from cmx.envutil import Env
from cmx.errors import CycleError, ResolutionImpossible, SelectionError, UsageError
from cmx.index import RecipeIndex
from cmx.plan import variations as variations_mod
from cmx.plan.node import PHASES, Edge, Plan, PlanNode
from cmx.recipe import Recipe
from cmx.selector import Selector, parse
from cmx.versions import VersionRequest, compare

# keys of a dependency entry that are not inputs of the called recipe
_DEP_CONTROL = {
    "tags", "names", "version", "version_min", "version_max", "version_max_usable", "enable_if_env",
    "skip_if_env", "enable_if_any_env", "skip_if_any_env", "env", "force_env_keys",
    "update_tags_from_env_with_prefix", "update_tags_from_env", "inherit_variation_tags",
    "skip_inherit_variation_groups", "extra_cache_tags", "force_cache", "dynamic", "continue_on_error",
    "skip_if_fake_run", "reuse_version", "tags_help", "comment", "_line",
}
_MAX_DEPTH = 64


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


@dataclass
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


def layers_of(meta: dict[str, Any], overlays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [meta] + list(overlays)


def _merge_effective(recipe: Recipe, overlays: list[dict[str, Any]]) -> dict[str, Any]:
    eff: dict[str, Any] = {}
    meta = recipe.meta
    for key in ("cache", "cache_expiration", "probe"):
        if key in meta:
            eff[key] = meta[key]
    for layer in layers_of(meta, overlays):
        if layer.get("script_name"):
            eff["script_name"] = layer["script_name"]
    layers = [meta] + overlays
    for key in ("env", "default_env", "const", "state", "input_mapping", "adr", "add_deps_recursive", "ad", "add_deps"):
        merged: dict[str, Any] = {}
        for layer in layers:
            value = layer.get(key)
            if value:
                merged.update(value)  # values are never mutated in place (a node copies its state)
        eff[key] = merged
    eff["adr"] = {**eff.pop("add_deps_recursive"), **eff["adr"]}
    eff["ad"] = {**eff.pop("add_deps"), **eff["ad"]}
    for key in ("new_env_keys", "new_state_keys"):
        seen: list[str] = []
        for layer in layers:
            for k in layer.get(key) or []:
                if k not in seen:
                    seen.append(k)
        eff[key] = seen
    for phase in PHASES:
        entries: list[tuple[dict[str, Any], str]] = []
        for i, layer in enumerate(layers):
            for j, dep in enumerate(layer.get(phase) or []):
                entries.append((dep, f"{phase}/{j}" if i == 0 else ""))
        eff[phase] = entries
    return eff


class Planner:
    def __init__(self, index: RecipeIndex, *, user_env: Env | None = None, user_const: Env | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        self.index = index
        self.user_env = dict(user_env or {})
        self.user_const = dict(user_const or {})
        self.notify = notify or (lambda msg: None)
        self.nodes: dict[str, PlanNode] = {}
        self.requests: dict[str, PlanNode] = {}
        self._where_cache: dict[tuple[str, str], str] = {}
        self._adr_ids: dict[int, tuple[dict[str, Any], str]] = {}
        self.order: list[PlanNode] = []
        self.stack: list[tuple[str, str]] = []
        self._text_cache: dict[str, str] = {}
        self.notes: list[str] = []

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
        return Plan(root=root, nodes=self.order, notes=self.notes)

    # -- selection --------------------------------------------------------------------
    def select(self, selector: Selector, name: str | None, source: str) -> Recipe:
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
        candidates = self.index.with_tags(selector.tags, selector.not_tags)
        broken = self.index.broken_with_tags(selector.tags)
        if broken and not candidates:
            broken[0].raise_error()
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
        if len(candidates) > 1:
            others = ", ".join(f"{r.alias} ({r.repo})" for r in candidates[1:6])
            self.notes.append(f"'{selector.text}' matched {len(candidates)} recipes; chose {chosen.alias} ({chosen.repo}), also: {others}")
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
        hint = "list recipes with `cmx find script --tags=...`"
        return SelectionError("\n".join(lines), hint=hint)

    # -- resolution ------------------------------------------------------------------
    def _resolve(self, ctx: _Context, parent: PlanNode | None, root: bool = False) -> PlanNode:
        # the same request from another dependent: reuse the finished node without resolving again
        request_key = None if root else repr((
            ctx.selector.text, ctx.variation_sources and [v for v, _ in ctx.variation_sources],
            sorted(ctx.env.items()), sorted(ctx.inputs.items()), ctx.version_req.describe(),
            ctx.version_req.max_usable, self._adr_identity(ctx.adr),
        ))
        if request_key is not None:
            known = self.requests.get(request_key)
            if known is not None:
                if parent is not None:
                    known.parents.append((parent, ctx.source))
                return known
        node = self._resolve_new(ctx, parent, root)
        if request_key is not None:
            self.requests[request_key] = node
        return node

    def _resolve_new(self, ctx: _Context, parent: PlanNode | None, root: bool) -> PlanNode:
        recipe = self.select(ctx.selector, ctx.name, ctx.source)
        resolved = variations_mod.expand(recipe, ctx.variation_sources, ctx.selector.not_variations)
        eff = _merge_effective(recipe, list(resolved.overlays))
        version, version_req, version_overlay = self._choose_version(recipe, resolved.overlays, ctx.version_req)
        if version_overlay:
            eff = _merge_effective(recipe, [version_overlay] + list(resolved.overlays))
        env, key_env = self._node_env(recipe, eff, ctx, root)
        own_adr = eff["adr"]
        child_adr = {k: {**v, "_source": f"adr of {recipe.alias}"} for k, v in own_adr.items()}
        direct_ad = {**{k: {**v, "_source": f"ad of {recipe.alias}"} for k, v in eff["ad"].items()}, **ctx.direct_ad}
        for name, patch in ctx.adr.items():  # closer to the user wins
            merged = dict(child_adr.get(name, {}))
            tags = _unique(_tag_list(merged.get("tags")) + _tag_list(patch.get("tags")))
            merged.update(patch)
            if tags:
                merged["tags"] = ",".join(tags)
            child_adr[name] = merged
        # identity of a node for deduplication: a canonical string is enough (no need to hash it)
        identity = repr((
            recipe.uid, recipe.digest, resolved.names, version, version_req.describe(), sorted(env.items()),
            sorted(ctx.inputs.items()), _patch_identity(child_adr), _patch_identity(direct_ad),
        ))
        frame = (identity, f"{recipe.alias}" + "".join(f",_{v}" for v in resolved.names)
                 + ("" if root else f" (required at {ctx.source})"))
        if any(f[0] == identity for f in self.stack):
            start = [f[0] for f in self.stack].index(identity)
            raise CycleError([f[1] for f in self.stack[start:]] + [frame[1]])
        if len(self.stack) > _MAX_DEPTH:
            raise CycleError([f[1] for f in self.stack[-8:]] + [frame[1] + " (depth limit reached)"])
        existing = self.nodes.get(identity)
        if existing is not None:
            if parent is not None:
                existing.parents.append((parent, ctx.source))
            return existing
        self._check_inputs(recipe, eff, ctx)
        node = PlanNode(
            index=-1, recipe=recipe, variations=resolved.names, version=version, version_req=version_req,
            env=env, key_env=key_env, state=copy.deepcopy(eff["state"]), inputs=dict(ctx.inputs),
            effective=eff, identity=identity, given_env=dict(ctx.env),
            pinned={**self.user_env, **eff["const"], **self.user_const},
        )
        if parent is not None:
            node.parents.append((parent, ctx.source))
        self.stack.append(frame)
        try:
            for phase in PHASES:
                exported: list[str] = []  # new_env_keys patterns of earlier siblings
                for dep, path in eff[phase]:
                    edge = self._dep_edge(node, phase, dep, path, child_adr, direct_ad, exported)
                    if edge is not None:
                        node.edges.append(edge)
                        exported += edge.child.effective["new_env_keys"]
        finally:
            self.stack.pop()
        node.index = len(self.order)
        self.order.append(node)
        self.nodes[identity] = node
        node.key = self.static_key(node)
        return node

    def _adr_identity(self, adr: dict[str, dict[str, Any]]) -> str:
        """The patches' identity, once per patch dict (all deps of a node share one)."""
        known = self._adr_ids.get(id(adr))
        if known is None or known[0] is not adr:
            known = (adr, repr(_patch_identity(adr)))
            self._adr_ids[id(adr)] = known
        return known[1]

    def _where(self, recipe: Recipe, path: str) -> str:
        """file:line of a dependency entry, formatted once per entry (it names every requirement)."""
        key = (recipe.uid, path)
        text = self._where_cache.get(key)
        if text is None:
            line = recipe.lines.get(path) if path else None
            if line:  # the common case, without building a Location
                text = f"{recipe.meta_file_text}:{line}"
            else:
                text = str(recipe.location(*path.split("/"))) if path else f"{recipe.alias} (a variation or version)"
            self._where_cache[key] = text
        return text

    def static_key(self, node: PlanNode) -> str | None:
        """The key, if every dependency's contribution is known without running."""
        child_keys = []
        for e in node.edges:
            if e.child.key is None or e.child.probe:
                return None
            child_keys.append(e.child.key)
        return node.compute_key(child_keys)

    def _choose_version(self, recipe: Recipe, overlays: tuple[dict[str, Any], ...], req: VersionRequest
                        ) -> tuple[str | None, VersionRequest, dict[str, Any] | None]:
        meta = recipe.meta
        req = req.merged(minimum=_opt(meta.get("version_min")), source=f"{recipe.location('version_min')}")
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
        env: Env = {}
        envutil.merge_env(env, ctx.env)
        envutil.merge_env(env, eff["default_env"], only_missing=True)
        envutil.merge_env(env, eff["env"])
        for flag, value in ctx.inputs.items():
            target = eff["input_mapping"].get(flag)
            if target:  # env values are strings, whatever YAML or JSON made of them
                env[target] = ("yes" if value else "no") if isinstance(value, bool) else \
                    (value if isinstance(value, (str, list, dict)) else str(value))
        envutil.merge_env(env, self.user_env)
        envutil.merge_env(env, eff["const"])
        envutil.merge_env(env, self.user_const)
        env = {k: envutil.substitute(v, env) for k, v in env.items()}
        key_env = {}
        for k, v in env.items():
            if envutil.is_secret(k):
                continue
            from_user = (k in self.user_env or k in self.user_const) and k not in ctx.env
            if from_user and not root and not self._mentions(recipe, eff, k):
                continue
            key_env[k] = v
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
                known = ", ".join(f"--{k}" for k in sorted(mapping)) or "(none)"
                raise UsageError(
                    f"recipe '{recipe.alias}' has no input --{flag} (given by {ctx.source})\n  its inputs: {known}",
                    hint=hint,
                )

    def _dep_edge(self, node: PlanNode, phase: str, dep: dict[str, Any], path: str,
                  adr: dict[str, dict[str, Any]], ad: dict[str, dict[str, Any]], exported: list[str]) -> Edge | None:
        recipe = node.recipe
        source = self._where(recipe, path)
        names = tuple(dep.get("names") or [])
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
            deferred = phase != "deps" or any(
                envutil.key_matches(k, exported) for k in envutil.condition_keys(dep)
            )
            if deferred:
                condition = condition_fields
            elif not envutil.dep_enabled(dep, node.env):
                return None
        tag_text = ",".join(_tag_list(envutil.substitute(dep.get("tags"), node.env)))
        for prefix, keys in (dep.get("update_tags_from_env_with_prefix") or {}).items():
            for k in keys:
                if node.env.get(k) not in (None, ""):
                    tag_text += f",{prefix}{node.env[k]}"
        for k in dep.get("update_tags_from_env") or []:
            if node.env.get(k) not in (None, ""):
                tag_text += f",{node.env[k]}"
        selector = parse(tag_text)
        var_sources = [(v, f"{source}") for v in selector.variations]
        if dep.get("inherit_variation_tags"):
            skip = set(dep.get("skip_inherit_variation_groups") or [])
            defs = recipe.meta.get("variations") or {}
            for v in node.variations:
                group = (defs.get(v) or defs.get(v.split(".")[0] + ".#") or {}).get("group")
                if group not in skip and (v, source) not in var_sources:
                    var_sources.append((v, f"inherited from {node.label}"))
            selector = selector.with_variations(tuple(v for v, _ in var_sources))
        child_env = envutil.substitute(dict(dep.get("env") or {}), node.env)
        for pattern in dep.get("force_env_keys") or []:
            for k, v in node.env.items():
                if envutil.key_matches(k, [pattern]):
                    child_env.setdefault(k, v)
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
        inputs = {k: envutil.substitute(v, node.env) for k, v in dep.items() if k not in _DEP_CONTROL}
        ctx = _Context(
            selector=selector, variation_sources=var_sources, env=child_env, inputs=inputs,
            version_req=version_req, adr=adr, source=source,
        )
        child = self._resolve(ctx, parent=node)
        return Edge(phase=phase, child=child, names=names, source=source, condition=condition,
                    continue_on_error=bool(dep.get("continue_on_error")))


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
