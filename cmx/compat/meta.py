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


def normalize(data: Any, schema: dict[str, Any], lines: dict[str, int], path: tuple[Any, ...] = (),
              notes: list[str] | None = None) -> tuple[Any, list[str]]:
    """``data`` read with CM's loose typing under ``schema``; unknown keys are dropped with a note.
    Values that cannot be read even loosely are left for the schema to report."""
    notes = [] if notes is None else notes
    if not path and isinstance(data, dict) and "tests" in data:  # MLC's `mlc test script` cases, another format
        data = {k: v for k, v in data.items() if k != "tests"}
        notes.append("key 'tests' (MLC's test cases) is not read by cmx; ignored")
    where = "/".join(str(p) for p in path) or "top level"
    ok, data = _coerce(data, schema, where, notes)
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
                if isinstance(value, list) and _types(extra) and "array" not in _types(extra) and path[-1:] in (
                        ("env",), ("default_env",), ("const",)):
                    out[key] = _env_list(str(key), value)
                else:
                    out[key], _ = normalize(value, extra, lines, sub, notes)
            else:
                out[key] = value
        return out, notes
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [normalize(v, schema["items"], lines, path + (i,), notes)[0] for i, v in enumerate(data)], notes
    return data, notes
