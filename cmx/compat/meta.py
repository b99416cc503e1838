"""CM's loose meta typing, read the way cm/mlc read it, for recipes of CM/MLC repositories.

cm and mlc never validated their metas, so those repositories rely on ``'yes'``/``'True'`` where a
boolean is meant, numbers where a string is meant, a single string where a list is meant, list-valued
env, and keys that no engine reads. ``normalize`` turns such a meta into one that our schema accepts,
driven by that schema, and returns a note for every change. Our own recipes are never normalized.
"""

from __future__ import annotations

import os
from typing import Any

TRUE = {"yes", "true", "on", "1"}
FALSE = {"no", "false", "off", "0", ""}


def _types(node: dict[str, Any]) -> tuple[str, ...]:
    t = node.get("type")
    return tuple(t) if isinstance(t, list) else (t,) if isinstance(t, str) else ()


def _matches(value: Any, types: tuple[str, ...]) -> bool:
    for t in types:
        if t == "string" and isinstance(value, str):
            return True
        if t == "boolean" and isinstance(value, bool):
            return True
        if t in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t == "array" and isinstance(value, list):
            return True
        if t == "object" and isinstance(value, dict):
            return True
        if t == "null" and value is None:
            return True
    return not types


def _env_list(key: str, value: list[Any]) -> str:
    """CM's list-valued env: ``+ CXXFLAGS: [a, b]`` is joined with the separator right after the ``+``
    (here a space), any other key with the path separator, as cm renders it."""
    sep = key[1] if key.startswith("+") and len(key) > 1 and not key[1].isalnum() and key[1] != "_" else os.pathsep
    return sep.join(str(v) for v in value)


def _coerce(value: Any, node: dict[str, Any], where: str, notes: list[str]) -> tuple[bool, Any]:
    types = _types(node)
    if _matches(value, types):
        return True, value
    if "boolean" in types and isinstance(value, (str, int, float)) and str(value).strip().lower() in TRUE | FALSE:
        return True, str(value).strip().lower() in TRUE
    if "boolean" in types and isinstance(value, str) and value.strip(" ,;.").lower() in TRUE | FALSE:
        # a stray comma from JSON habits (cm4mlops: `default: true,`): cm reads the string as true
        notes.append(f"{where}: {value!r} read as {str(value.strip(' ,;.').lower() in TRUE).lower()}")
        return True, value.strip(" ,;.").lower() in TRUE
    if "string" in types and isinstance(value, (int, float, bool)):
        return True, str(value).lower() if isinstance(value, bool) else str(value)
    if "integer" in types and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return True, int(value)
    if "array" in types and isinstance(value, str):
        return True, [value]
    if "object" in types and value is None:
        return True, {}
    if "array" in types and value is None:
        return True, []
    return False, value


_DEP_UPDATES = (("adr",), ("add_deps_recursive",), ("ad",), ("add_deps",))


def _renumber(lines: dict[str, int], where: str, kept: list[int]) -> None:
    """After items of the list at ``where`` were left out, the line numbers of the ``kept`` items (their
    old indexes, in order) under their new indexes, so that errors still name the right lines."""
    prefix = where + "/"
    moved = {k: v for k, v in lines.items() if k.startswith(prefix)}
    for k in moved:
        del lines[k]
    for new, old in enumerate(kept):
        head = f"{prefix}{old}"
        for k, v in moved.items():
            if k == head or k.startswith(head + "/"):
                lines[f"{prefix}{new}{k[len(head):]}"] = v


def normalize(data: Any, schema: dict[str, Any], lines: dict[str, int], path: tuple[Any, ...] = (),
              notes: list[str] | None = None) -> tuple[Any, list[str]]:
    """``data`` read with CM's loose typing under ``schema``; unknown keys are dropped with a note.
    Values that cannot be read even loosely are left for the schema to report."""
    notes = [] if notes is None else notes
    if not path and isinstance(data, dict) and "tests" in data:  # MLC's `mlc test script` cases, another format
        data = {k: v for k, v in data.items() if k != "tests"}
        notes.append("key 'tests' (MLC's test cases) is not read by cmx; ignored")
    where = "/".join(str(p) for p in path) or "top level"
    line = lines.get(where)
    ok, data = _coerce(data, schema, f"line {line}: {where}" if line else where, notes)
    if not ok:
        return data, notes
    if isinstance(data, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for key, value in data.items():
            sub = path + (key,)
            if key in props:
                out[key], _ = normalize(value, props[key], lines, sub, notes)
            elif extra is False:
                line = lines.get("/".join(str(p) for p in sub))
                notes.append((f"line {line}: " if line else "") + f"key '{key}' at {where} is not read by cmx; ignored")
            elif isinstance(extra, dict):
                if _types(extra) == ("object",) and not isinstance(value, dict) and path[-1:] in _DEP_UPDATES:
                    # an `adr` entry that is no dependency update (mlperf-automations' get-pass documents
                    # its variations there): cm/mlc apply an entry only to a dependency of that name
                    line = lines.get("/".join(str(p) for p in sub))
                    notes.append((f"line {line}: " if line else "") + f"{'/'.join(str(p) for p in sub)} is not a "
                                 "mapping of dependency keys; ignored")
                    continue
                if isinstance(value, list) and _types(extra) and "array" not in _types(extra) and path[-1:] in (
                        ("env",), ("default_env",), ("const",)):
                    out[key] = _env_list(str(key), value)
                else:
                    out[key], _ = normalize(value, extra, lines, sub, notes)
            else:
                out[key] = value
        return out, notes
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        if "tags" in (items.get("required") or ()):  # a dependency list: cm skips an entry without tags
            kept = []
            for i, v in enumerate(data):
                if isinstance(v, dict) and not v.get("tags"):
                    line = lines.get(f"{where}/{i}")
                    notes.append((f"line {line}: " if line else "") + f"{where}/{i} has no tags; skipped, as cm "
                                 "and mlc skip it")
                    continue
                kept.append((i, v))
            if len(kept) < len(data):
                _renumber(lines, where, [i for i, _ in kept])
            return [normalize(v, items, lines, path + (n,), notes)[0] for n, (_, v) in enumerate(kept)], notes
        return [normalize(v, items, lines, path + (i,), notes)[0] for i, v in enumerate(data)], notes
    return data, notes
