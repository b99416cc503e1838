"""A fast yes/no check of a meta against the JSON Schema of ``cmx.meta.schema``.

The schema is compiled once into nested closures that give exactly Draft 7's verdict for the keywords
the schema uses (``type``, ``properties``, ``additionalProperties``, ``items``, ``required``, ``enum``,
``pattern``). A valid meta (nearly all of them) never touches jsonschema, which costs more than parsing
the YAML when a whole repository is indexed (and a fifth of a second to import); an invalid one is
validated again by jsonschema, which names the error (``loader.validate``). A schema keyword this module
does not know makes ``compile_schema`` return None: then every meta goes to jsonschema.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Check = Callable[[Any], bool]

_KNOWN = frozenset(("type", "properties", "additionalProperties", "items", "required", "enum", "pattern",
                    "$schema", "title", "description", "default"))


def _is_type(value: Any, name: str) -> bool:
    cls = value.__class__
    if name == "string":
        return cls is str or isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return cls is bool
    if name == "null":
        return value is None
    if cls is bool:  # a boolean is neither a number nor an integer in JSON Schema
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise _Unknown(f"type {name!r}")


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality, as jsonschema's ``enum``: ``True`` is not ``1``; lists and objects element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple, dict)) or isinstance(b, (list, tuple, dict)):
        return False
    return bool(a == b)


class _Unknown(Exception):
    pass


def _compile(schema: Any) -> Check:
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict):
        raise _Unknown(repr(schema)[:40])
    unknown = set(schema) - _KNOWN
    if unknown:
        raise _Unknown(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for n in names:
            _is_type(None, n)  # an unknown name raises now, not per value
        names = tuple(names)
        checks.append(lambda value: any(_is_type(value, n) for n in names))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda value: any(_json_equal(value, a) for a in allowed))
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda value: not isinstance(value, str) or search(value) is not None)
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda value: not isinstance(value, dict) or all(k in value for k in required))
    if "properties" in schema or "additionalProperties" in schema:
        props = {k: _compile(v) for k, v in (schema.get("properties") or {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else _compile(extra)

        def check_object(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for k, v in value.items():
                c = props.get(k)
                if c is not None:
                    if not c(v):
                        return False
                elif extra_check is not None and not extra_check(v):
                    return False
            return True
        checks.append(check_object)
    if "items" in schema:
        if not isinstance(schema["items"], (dict, bool)):
            raise _Unknown("items as a list")
        item = _compile(schema["items"])
        checks.append(lambda value: not isinstance(value, list) or all(item(v) for v in value))
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(c(value) for c in checks)


def compile_schema(schema: dict[str, Any]) -> Check | None:
    """A function telling whether a value is valid under ``schema``, or None if the schema uses a
    keyword this module does not implement."""
    try:
        return _compile(schema)
    except _Unknown:
        return None
