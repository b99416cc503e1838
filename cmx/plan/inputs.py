"""Plan-time checks of a recipe's inputs, as its meta declares them.

A recipe declares, per flag of ``input_mapping``, in ``input_description``::

    samples: {desc: "...", type: int, min: 1}
    server_kind: {desc: "...", choices: [generic, vllm]}
    scenarios: {desc: "...", type: list, choices: [offline, server]}
    dataset_path: {desc: "...", type: file}

and which flags must be given, at the top level or in a variation::

    variations:
      openorca:
        required_inputs: [dataset_path]

The planner calls :func:`check` for every node before planning its dependencies,
so a missing or malformed input is an exit-2 error naming the flag before
anything runs. A recipe that declares nothing costs one dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from cmx.errors import UsageError

TYPES = ("int", "number", "bool", "file", "dir", "url", "string", "list")
_TRUE = {"yes", "on", "true", "1"}
_FALSE = {"no", "off", "false", "0"}


@dataclass(frozen=True)
class InputSpec:
    flag: str
    desc: str
    type: str | None
    choices: tuple[str, ...]
    min: float | None
    max: float | None


@dataclass(frozen=True)
class _RecipeSpecs:
    specs: tuple[InputSpec, ...]
    required_top: tuple[str, ...]
    any_required_in_overlays: bool


_cache: dict[tuple[str, str], _RecipeSpecs | None] = {}


def _specs_of(recipe: Any) -> _RecipeSpecs | None:
    cache_key = (recipe.uid, recipe.digest)
    if cache_key in _cache:
        return _cache[cache_key]
    meta = recipe.meta
    specs = []
    for flag, d in (meta.get("input_description") or {}).items():
        if not isinstance(d, dict) or not ({"type", "choices", "min", "max"} & d.keys()):
            continue
        specs.append(InputSpec(str(flag), str(d.get("desc") or ""), d.get("type"),
                               tuple(str(c) for c in d.get("choices") or ()),
                               d.get("min"), d.get("max")))
    overlays = [v for v in (meta.get("variations") or {}).values() if isinstance(v, dict)]
    overlays += [v for v in (meta.get("versions") or {}).values() if isinstance(v, dict)]
    in_overlays = any(v.get("required_inputs") for v in overlays)
    top = tuple(meta.get("required_inputs") or ())
    result = _RecipeSpecs(tuple(specs), top, in_overlays) if specs or top or in_overlays else None
    _cache[cache_key] = result
    return result


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value.strip() or "<<<" in value))


def _problem(spec: InputSpec, value: str) -> str | None:
    """Why ``value`` is not acceptable for the flag, or None."""
    kind = spec.type
    if kind == "list":  # comma-separated; with choices, each item must be one of them
        items = [item.strip() for item in value.split(",")]
        if not all(items):
            return "has an empty item (give items separated by single commas)"
        # items match their choices in any case: MLPerf writes Offline where a recipe lists offline
        folded = {choice.casefold() for choice in spec.choices}
        bad = [item for item in items if folded and item.casefold() not in folded]
        return f"must list only: {', '.join(spec.choices)} (not {', '.join(bad)})" if bad else None
    if spec.choices and value not in spec.choices:
        return f"must be one of: {', '.join(spec.choices)}"
    if kind in ("int", "number"):
        try:
            number = int(value) if kind == "int" else float(value)
        except ValueError:
            return "is not a whole number" if kind == "int" else "is not a number"
        if spec.min is not None and number < spec.min:
            return f"must be at least {spec.min}"
        if spec.max is not None and number > spec.max:
            return f"must be at most {spec.max}"
    elif kind == "bool":
        if value.strip().lower() not in _TRUE | _FALSE:
            return "must be yes or no"
    elif kind == "file":
        if not Path(value).expanduser().is_file():
            return "is not a file" if Path(value).expanduser().exists() else "does not exist"
    elif kind == "dir":
        if not Path(value).expanduser().is_dir():
            return "is not a folder" if Path(value).expanduser().exists() else "does not exist"
    elif kind == "url":
        from urllib.parse import urlsplit

        url = urlsplit(value)
        if not url.scheme or not url.netloc:
            return "is not a URL (scheme://host...)"
    return None


def check(recipe: Any, overlays: Sequence[Mapping[str, Any]], input_mapping: Mapping[str, str], env: Mapping[str, Any], source: str) -> None:
    """Raise UsageError (exit 2) naming the flag when a declared input is missing or malformed."""
    meta = recipe.meta
    if "input_description" not in meta and "required_inputs" not in meta \
            and not any("required_inputs" in layer for layer in overlays):
        return  # nothing declared (most recipes): no per-recipe specs to build, 10k times in a large plan
    specs = _specs_of(recipe)
    if specs is None:
        return
    where = "" if source == "the command line" else f" (asked by {source})"
    required: dict[str, str] = {flag: "" for flag in specs.required_top}
    if specs.any_required_in_overlays:
        by_overlay = {id(v): n for n, v in (recipe.meta.get("variations") or {}).items() if isinstance(v, dict)}
        for layer in overlays:
            for flag in layer.get("required_inputs") or ():
                name = by_overlay.get(id(layer))
                required.setdefault(flag, f" with _{name}" if name else "")
    described = {s.flag: s for s in specs.specs}
    for flag, why in required.items():
        target = input_mapping.get(flag)
        if target is None or _missing(env.get(target)):
            desc = (recipe.meta.get("input_description") or {}).get(flag)
            desc = desc.get("desc") if isinstance(desc, dict) else desc
            raise UsageError(f"recipe '{recipe.alias}' needs --{flag}{why}{where}",
                             hint=f"--{flag}: {desc}" if desc else f"add --{flag}=VALUE")
    for flag, spec in described.items():
        target = input_mapping.get(flag)
        value = env.get(target) if target else None
        if _missing(value) or not isinstance(value, str):
            continue
        problem = _problem(spec, value)
        if problem:
            raise UsageError(f"recipe '{recipe.alias}': --{flag}={value} {problem}{where}",
                             hint=f"--{flag}: {spec.desc}" if spec.desc else None)
