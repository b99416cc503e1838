"""The env a CM/MLC recipe passes to its dependencies (CM's shared env), kept exact for cmx's keys.

cm and mlc run a dependency on the very env dict of its dependent: it sees the dependent's env (its
``default_env``, ``env``, variations, mapped inputs and what it got itself; for hook dependencies, the
env after preprocess and the run), minus CM's *local* keys (``CM_VERSION*``, ``CM_TMP_*``,
``CM_GIT_*``, ... and the meta's ``local_env_keys``, values still holding ``<<<KEY>>>``), with the
entry's ``force_env_keys`` put back and the entry's ``env`` on top.

cmx passes the same, with one restriction that keeps keys exact and the cache from splitting: only the
keys the dependency **could read** are passed, i.e. env names that appear in the text (meta and files,
not ``*.md``) of the dependency, or, for a dependency that is not cached, of a CM/MLC recipe it may
depend on (a dependency of any phase, variation or version, selected by its plain tags) through recipes
that are not cached either, or that match its ``new_env_keys`` patterns. A cached recipe gets only what
it could read itself: without that stop, ``get-python3`` would get one cache entry per Python package
that asked for it, and ``detect-os`` one per dependent of ``get-sys-utils-min`` (its Windows-only post
dependency). What is passed
enters the dependency's env, and so its key; what is not passed cannot be read. A name built at run
time (``env['CM_' + x]``) or read by a file outside those recipes is not passed (docs/compat.md). Our
own recipes receive nothing (their env is their meta's and their entry's ``env``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from cmx import envutil

if TYPE_CHECKING:
    from cmx.index import RecipeIndex
    from cmx.recipe import Recipe

# CM's local keys (cm4mlops and mlperf-automations automation/script/module.py), under each prefix
_LOCAL_NAMES = ("VERSION", "VERSION_MIN", "VERSION_MAX", "VERSION_MAX_USABLE", "DETECTED_VERSION", "INPUT", "OUTPUT",
                "OUTBASENAME", "OUTDIRNAME", "SEARCH_FOLDER_PATH", "NAME", "EXTRA_CACHE_TAGS", "TMP_*", "GIT_*",
                "RENEW_CACHE_ENTRY")
LOCAL_KEYS = tuple(f"{p}_{n}" for p in ("CM", "MLC", "CMX") for n in _LOCAL_NAMES) + (
    "CMX_RECIPE_PATH", "CMX_RUN_DIR", "CMX_ENTRY_PATH")  # cmx's engine facts of the step
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CMX_FILES = ("cmx-run.log", "cmx-entry.json")


def is_foreign(recipe: "Recipe") -> bool:
    return recipe.path.parent.name == "script"


def env_name(key: str) -> str:
    """``+PATH`` and ``+ CXXFLAGS`` are PATH and CXXFLAGS."""
    if key.startswith("+"):
        key = key[1:]
        while key and not (key[0].isalnum() or key[0] == "_"):
            key = key[1:]
    return key


@dataclass(frozen=True, eq=False)
class Inherit:
    """What a dependency entry of a CM/MLC recipe passes: the token sets of the recipes it may run, its
    ``new_env_keys`` patterns, the keys kept local, and the keys never passed (the user's --env/--const,
    which reach every node anyway). ``fixed``: the env passed at planning, for the deps phase (its env
    is the dependent's planned env); a hook phase passes the env its dependent has when it runs."""

    reads: tuple[frozenset[str], ...]
    exports: tuple[str, ...]
    local: tuple[str, ...]
    exclude: frozenset[str]
    fixed: Mapping[str, Any] | None = None

    def passed(self, env: Mapping[str, Any], force: Iterable[str] = ()) -> dict[str, Any]:
        if self.fixed is not None:
            return dict(self.fixed)
        return passed_env(env, self.reads, self.exports, self.local, self.exclude, force)


def passed_env(env: Mapping[str, Any], reads: tuple[frozenset[str], ...], exports: tuple[str, ...],
               local: tuple[str, ...], exclude: frozenset[str], force: Iterable[str] = ()) -> dict[str, Any]:
    """The part of ``env`` a dependency gets: not local (unless forced), not a placeholder, one it could read."""
    force = list(force)
    out: dict[str, Any] = {}
    for k, v in env.items():
        if k in exclude or (envutil.key_matches(k, local) and not envutil.key_matches(k, force)):
            continue
        if "<<<" in repr(v):
            continue
        name = env_name(k)
        if any(name in tokens for tokens in reads) or envutil.key_matches(k, exports):
            out[k] = v
    return out


class Reach:
    """Which env names the recipes reachable from a CM/MLC recipe mention (memoized per index)."""

    def __init__(self, index: "RecipeIndex") -> None:
        self.index = index
        self._tokens: dict[str, frozenset[str]] = {}
        self._edges: dict[str, list["Recipe"]] = {}
        self._reach: dict[str, tuple[frozenset[str], ...]] = {}

    def tokens(self, recipe: "Recipe") -> frozenset[str]:
        known = self._tokens.get(recipe.uid)
        if known is None:
            found = set(_TOKEN.findall(repr(recipe.meta)))
            for name, _ in recipe.file_digests:
                if name.endswith(".md") or name in _CMX_FILES:
                    continue
                try:
                    found.update(_TOKEN.findall((recipe.path / name).read_text(encoding="utf-8", errors="replace")))
                except OSError:
                    pass
            known = self._tokens[recipe.uid] = frozenset(found)
        return known

    def _deps_of(self, recipe: "Recipe") -> list["Recipe"]:
        known = self._edges.get(recipe.uid)
        if known is None:
            known = []
            seen: set[str] = set()
            for tags in _dep_tag_texts(recipe.meta):
                plain = [t for t in tags if t and not t.startswith(("_", "-")) and "<<<" not in t]
                if not plain:
                    continue
                try:
                    found = self.index.with_tags(plain, (), "")
                except Exception:  # noqa: BLE001 - a reach over-approximates; a bad tag adds nothing
                    continue
                for r in found:
                    if is_foreign(r) and r.uid not in seen:
                        seen.add(r.uid)
                        known.append(r)
            self._edges[recipe.uid] = known
        return known

    def reads(self, recipe: "Recipe") -> tuple[frozenset[str], ...]:
        """The token sets of the recipe and, unless it is cached, of the CM/MLC recipes it may depend on,
        at any depth through recipes that are not cached."""
        known = self._reach.get(recipe.uid)
        if known is None:
            order, seen, stack = [], {recipe.uid}, [recipe]
            while stack:
                r = stack.pop()
                order.append(self.tokens(r))
                if _cached(r):
                    continue  # a cached recipe gets only what it could read itself (see the module's doc)
                for d in self._deps_of(r):
                    if d.uid not in seen:
                        seen.add(d.uid)
                        stack.append(d)
            known = self._reach[recipe.uid] = tuple(order)
        return known


def _cached(recipe: "Recipe") -> bool:
    return bool(recipe.meta.get("cache"))


def _dep_tag_texts(meta: Any) -> Iterable[list[str]]:
    """The tags of every dependency entry and patch in a meta (any phase, variation, version, adr)."""
    stack = [meta]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            tags = node.get("tags")
            if isinstance(tags, (str, list)) and node is not meta:
                text = ",".join(str(t) for t in tags) if isinstance(tags, list) else tags
                yield [t.strip() for t in text.replace(" ", ",").split(",")]
            stack.extend(v for k, v in node.items() if k != "tags")
        elif isinstance(node, list):
            stack.extend(node)


_REACH: dict[int, tuple["RecipeIndex", Reach]] = {}


def reach_for(index: "RecipeIndex") -> Reach:
    """The Reach of an index (one per index object, shared by the planners of one process)."""
    known = _REACH.get(id(index))
    if known is None or known[0] is not index:
        known = (index, Reach(index))
        _REACH.clear()  # one index at a time: no growth across many indexes (tests)
        _REACH[id(index)] = known
    return known[1]
