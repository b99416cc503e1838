"""CM's ``CM_*``, MLC's ``MLC_*`` and cmx's ``CMX_*`` env names side by side: a CM/MLC recipe that
reads ``CM_HOST_OS_TYPE`` after ``detect,os`` gets the value whichever recipe produced it (the
built-in ``detect-os`` exports ``CMX_HOST_OS_TYPE``, mlperf-automations' ``MLC_HOST_OS_TYPE``).
See docs/compat.md#env-names."""

from __future__ import annotations

from typing import Any, Mapping

PREFIXES = ("CMX_", "CM_", "MLC_")


def twins(key: str) -> list[str]:
    """The same name under the other prefixes (``+`` list keys keep their ``+``)."""
    plus = "+" if key.startswith("+") else ""
    bare = key[len(plus):]
    for prefix in PREFIXES:
        if bare.startswith(prefix):
            rest = bare[len(prefix):]
            if prefix == "CM_" and rest.startswith("X_"):  # CMX_ is not CM_ + X_
                continue
            return [plus + p + rest for p in PREFIXES if p != prefix]
    return []


def mirror(env: dict[str, Any], outputs: Mapping[str, Any]) -> None:
    """Give a dependency's outputs to a CM/MLC recipe under all three prefixes, never overwriting
    a name the recipe's env already has (its own value, or one a dependency exported under it)."""
    for key, value in outputs.items():
        for twin in twins(key):
            if twin not in env and twin not in outputs:
                env[twin] = value
