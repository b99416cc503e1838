"""Expand a recipe's `_variations`: aliases, exclusions, bases, defaults, groups,
dynamic ``name.#`` variations and combined ``a,b`` keys, as CM does, but with
errors that name the variations and who asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmx.errors import Requirement, ResolutionImpossible, SelectionError
from cmx.recipe import Recipe


@dataclass(frozen=True)
class ResolvedVariations:
    names: tuple[str, ...]  # canonical, sorted: what enters keys and lockfiles
    overlays: tuple[dict[str, Any], ...]  # metas to apply, in order


def _replace_hash(value: Any, suffix: str) -> Any:
    if isinstance(value, str):
        return value.replace("#", suffix)
    if isinstance(value, list):
        return [_replace_hash(v, suffix) for v in value]
    if isinstance(value, dict):
        return {k: _replace_hash(v, suffix) for k, v in value.items()}
    return value


class _Expander:
    def __init__(self, recipe: Recipe, excluded: tuple[str, ...]) -> None:
        self.recipe = recipe
        self.defs: dict[str, Any] = recipe.meta.get("variations") or {}
        self.singles = {k: (v or {}) for k, v in self.defs.items() if "," not in k}
        self.excluded = set(excluded)
        self.selected: dict[str, str] = {}  # name -> source

    def lookup(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The definition of ``name``: exact, or a dynamic ``prefix.#`` entry."""
        if name in self.singles:
            return name, self.singles[name]
        if "." in name:
            head, _, value = name.partition(".")
            dyn = self.singles.get(head + ".#")
            if dyn is not None:
                return head + ".#", _replace_hash(dyn, value)
        return None

    def unknown(self, name: str, source: str) -> SelectionError:
        names = sorted(self.singles)
        import difflib
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        listing = ", ".join(f"_{n}" for n in names) or "(none)"
        hint = f"did you mean _{close[0]}?" if close else None
        return SelectionError(
            f"recipe '{self.recipe.alias}' has no variation _{name} (asked by {source})\n"
            f"  its variations: {listing}",
            hint=hint,
        )

    def add(self, name: str, source: str) -> None:
        found = self.lookup(name)
        if found is None:
            raise self.unknown(name, source)
        _, definition = found
        alias = definition.get("alias")
        if alias:
            self.add(str(alias), f"alias _{name} ({source})")
            return
        if name in self.excluded:
            if source.startswith("default"):
                return
            raise ResolutionImpossible(
                f"variations of '{self.recipe.alias}'",
                [Requirement(f"_{name}", source), Requirement(f"-_{name}", "the selector")],
                "a variation is both selected and excluded",
            )
        if name in self.selected:
            return
        self.selected[name] = source
        for base in definition.get("base") or []:
            self.add(str(base), f"base of _{name}")

    def group_of(self, name: str) -> str | None:
        found = self.lookup(name)
        return found[1].get("group") if found else None

    def groups_present(self) -> set[str]:
        return {g for n in self.selected if (g := self.group_of(n))}

    def apply_defaults(self, explicit_given: bool) -> None:
        meta = self.recipe.meta
        if not explicit_given and meta.get("default_variation"):
            self.add(str(meta["default_variation"]), "default_variation of the recipe")
        for _round in range(20):
            before = len(self.selected)
            present = self.groups_present()
            # defaults named by the selected variations, then by the recipe
            wanted: list[tuple[str, str, str]] = []
            for n in list(self.selected):
                for group, var in ((self.lookup(n) or ("", {}))[1].get("default_variations") or {}).items():
                    wanted.append((group, str(var), f"default_variations of _{n}"))
            for group, var in (meta.get("default_variations") or {}).items():
                wanted.append((group, str(var), "default_variations of the recipe"))
            for group, var, source in wanted:
                if group not in present and var not in self.excluded:
                    self.add(var, "default: " + source)
                    present = self.groups_present()
            for name, definition in self.singles.items():
                group = definition.get("group")
                if definition.get("default") and group and group not in present and name not in self.excluded:
                    self.add(name, f"default of group '{group}'")
                    present = self.groups_present()
            if len(self.selected) == before:
                return

    def check_groups(self) -> None:
        by_group: dict[str, list[str]] = {}
        for n in self.selected:
            group = self.group_of(n)
            if group:
                by_group.setdefault(group, []).append(n)
        for group, members in by_group.items():
            if len(members) > 1:
                raise ResolutionImpossible(
                    f"variation group '{group}' of '{self.recipe.alias}'",
                    [Requirement(f"_{m}", self.selected[m]) for m in members],
                    "only one variation of a group can be selected",
                )
        selected = set(self.selected)
        for combo in self.recipe.meta.get("invalid_variation_combinations") or []:
            if set(combo).issubset(selected):
                raise ResolutionImpossible(
                    f"variations of '{self.recipe.alias}'",
                    [Requirement(f"_{m}", self.selected[m]) for m in combo],
                    "this combination is declared invalid",
                )

    def overlays(self) -> list[dict[str, Any]]:
        out = [self.lookup(n)[1] for n in self.selected]  # type: ignore[index]
        selected = set(self.selected)
        combos = [(k, v or {}) for k, v in self.defs.items() if "," in k]
        combos.sort(key=lambda kv: kv[0].count(","))
        for key, definition in combos:
            if {p.strip().lstrip("_") for p in key.split(",")}.issubset(selected):
                out.append(definition)
        return out


_NONE = ResolvedVariations((), ())
# meta keys that can select or forbid a variation when none is requested
_VARIATION_KEYS = ("variations", "default_variation", "default_variations", "invalid_variation_combinations")


def expand(recipe: Recipe, requested: list[tuple[str, str]], excluded: tuple[str, ...] = ()) -> ResolvedVariations:
    """``requested`` holds (variation, who asked) pairs, in order."""
    meta = recipe.meta
    if not requested and not any(meta.get(k) for k in _VARIATION_KEYS):  # most recipes: nothing to expand
        return _NONE
    if not excluded and meta.get("variations"):
        found = _plain_selection(meta, [name for name, _ in requested])
        if found is not None:
            return found
    ex = _Expander(recipe, excluded)
    for name, source in requested:
        ex.add(name, source)
    ex.apply_defaults(explicit_given=bool(requested))
    ex.check_groups()
    return ResolvedVariations(tuple(sorted(ex.selected)), tuple(ex.overlays()))


def _plain_selection(meta: dict[str, Any], requested: list[str]) -> ResolvedVariations | None:
    """What ``_Expander`` selects when nothing is excluded and every variation is plain (no alias,
    base, nested defaults, dynamic or combined keys): the requested ones, then the first default of
    each group still missing, in definition order. None when the recipe or the request needs the
    general expansion (which also reports unknown or conflicting variations)."""
    if meta.get("default_variation") or meta.get("default_variations") or meta.get("invalid_variation_combinations"):
        return None
    defs: dict[str, Any] = meta["variations"]
    for name, definition in defs.items():
        if "," in name or "#" in name:
            return None
        if definition and (definition.get("alias") or definition.get("base") or definition.get("default_variations")):
            return None
    selected: list[str] = []
    overlays: list[dict[str, Any]] = []
    groups: set[str] = set()
    for name in requested:
        if name not in defs:
            return None
        if name in selected:
            continue
        definition = defs[name] or {}
        group = definition.get("group")
        if group:
            if group in groups:
                return None
            groups.add(group)
        selected.append(name)
        overlays.append(definition)
    for name, definition in defs.items():
        definition = definition or {}
        group = definition.get("group")
        if definition.get("default") and group and group not in groups:
            groups.add(group)
            selected.append(name)
            overlays.append(definition)
    return ResolvedVariations(tuple(sorted(selected)), tuple(overlays))


def can_satisfy(recipe: Recipe, variations: tuple[str, ...]) -> bool:
    """Does the recipe define every one of ``variations`` (exactly or as a dynamic ``name.#``)?"""
    defs = recipe.meta.get("variations") or {}
    for v in variations:  # _Expander.lookup, without building the expander
        if "," in v:  # combined "a,b" keys are not selectable by name
            return False
        if v in defs or ("." in v and (v.partition(".")[0] + ".#") in defs):
            continue
        return False
    return True
