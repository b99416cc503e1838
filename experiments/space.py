"""The explored space: ``--explore.KEY=VALUES`` flags into dimensions, and their Cartesian product.

VALUES is one of
  ``a,b,c``            a list (a list flag ``--explore.KEY,=a,b`` or a YAML list in @file too);
  ``start:stop:step``  an arithmetic range, stop included when it is reached (``1:9:2`` = 1,3,5,7,9);
  ``start:stop:*f``    a geometric range (``1:64:*2`` = 1,2,4,...,64);
  ``a,b,c,...,z``      a progression continued from its first three terms up to z, arithmetic when
                       they have a constant difference and geometric when they have a constant
                       ratio (``1,2,4,...,256``; ``10,20,30,...,100``).
KEY is an input of the recipe (``name``), ``variation`` (values ``_a``, several joined by ``+``:
``_json+_shout``), ``variation.LABEL`` (a second variation dimension), or ``env.NAME``.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from cmx.errors import UsageError

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUM})\s*:\s*({_NUM})\s*(?::\s*(\*?)\s*({_NUM})\s*)?$")
_ELLIPSIS = "..."


@dataclass(frozen=True)
class Dimension:
    """One explored key and its values, in order."""

    key: str  # as written after --explore.: name, variation, variation.fmt, env.NAME
    values: tuple[str, ...]

    @property
    def kind(self) -> str:
        head = self.key.split(".", 1)[0]
        return head if head in ("variation", "env") else "input"

    @property
    def target(self) -> str:
        """The input or env name the values go to (the label for a variation dimension)."""
        return self.key.split(".", 1)[1] if "." in self.key else self.key


@dataclass(frozen=True)
class Point:
    """One combination: the value of every dimension."""

    index: int
    values: tuple[tuple[str, str], ...]  # (dimension key, value), in dimension order

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)


@dataclass(frozen=True)
class Space:
    dimensions: tuple[Dimension, ...]

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions) if self.dimensions else 0

    def points(self) -> Iterator[Point]:
        keys = [d.key for d in self.dimensions]
        for n, combo in enumerate(itertools.product(*(d.values for d in self.dimensions))):
            yield Point(n, tuple(zip(keys, combo)))


def parse_space(explore: Any) -> Space:
    """``i['explore']`` (a nested dict from the flag parser or an @file) into a Space."""
    if not isinstance(explore, dict) or not explore:
        raise UsageError("an experiment needs at least one --explore.KEY=VALUES (e.g. --explore.name=ann,bob)")
    dims: list[Dimension] = []
    for key, raw in _flatten(explore, ""):
        dims.append(Dimension(key, parse_values(key, raw)))
    return Space(tuple(dims))


def _flatten(d: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if key not in ("variation", "env"):
                raise UsageError(f"--explore.{key}.…: only 'variation' and 'env' take a second name "
                                 f"(--explore.env.NAME=…, --explore.variation.LABEL=…)")
            if not v:
                raise UsageError(f"--explore.{key}: no values")
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def parse_values(key: str, raw: Any) -> tuple[str, ...]:
    flag = f"--explore.{key}"
    if raw is True or raw is None:
        raise UsageError(f"{flag}: no values (give {flag}=a,b,c or a range start:stop:step)")
    if isinstance(raw, (list, tuple)):
        items = [_text(v) for v in raw]
    else:
        text = _text(raw).strip()
        m = _RANGE.match(text)
        if m:
            return _range(flag, m)
        items = [p.strip() for p in text.split(",")]
    if _ELLIPSIS in items:
        return _progression(flag, items)
    if not any(items):
        raise UsageError(f"{flag}: no values (give {flag}=a,b,c or a range start:stop:step)")
    if any(not v for v in items):
        raise UsageError(f"{flag}: empty value in '{','.join(items)}'" if items else f"{flag}: no values")
    if len(set(items)) != len(items):
        dup = next(v for v in items if items.count(v) > 1)
        raise UsageError(f"{flag}: '{dup}' is given twice")
    if key.split(".", 1)[0] == "variation":
        for v in items:
            for part in v.split("+"):
                if not part.startswith("_") or len(part) < 2:
                    raise UsageError(f"{flag}: '{v}' is not a variation (write _name, several as _a+_b)")
    return tuple(items)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _num(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and re.fullmatch(r"[-+]?\d+", text.strip()) else value


def _fmt(x: float, integral: bool) -> str:
    if integral:
        return str(int(round(x)))
    return repr(round(x, 12)).rstrip("0").rstrip(".") if "." in repr(round(x, 12)) else repr(round(x, 12))


def _range(flag: str, m: re.Match[str]) -> tuple[str, ...]:
    start, stop = _num(m.group(1)), _num(m.group(2))
    geometric = m.group(3) == "*"
    step = _num(m.group(4)) if m.group(4) else (2 if geometric else 1)
    integral = all(isinstance(x, int) for x in (start, stop, step))
    if geometric:
        if step <= 1 or start <= 0:
            raise UsageError(f"{flag}: a geometric range needs start > 0 and a factor > 1 (e.g. 1:64:*2)")
        return _walk(flag, start, stop, lambda x: x * step, integral)
    if step == 0:
        raise UsageError(f"{flag}: the step of a range cannot be 0")
    return _walk(flag, start, stop, lambda x: x + step, integral, descending=step < 0)


def _walk(flag: str, start: float, stop: float, nxt: Any, integral: bool, descending: bool = False,
          limit: int = 100_000) -> tuple[str, ...]:
    out: list[str] = []
    x = start
    eps = 1e-9 * max(1.0, abs(stop))
    while (x >= stop - eps) if descending else (x <= stop + eps):
        out.append(_fmt(x, integral))
        if len(out) > limit:
            raise UsageError(f"{flag}: the range has more than {limit:,} values")
        x = nxt(x)
    if not out:
        raise UsageError(f"{flag}: the range is empty (start {_fmt(start, integral)} is past stop "
                         f"{_fmt(stop, integral)})")
    return tuple(dict.fromkeys(out))


def _progression(flag: str, items: list[str]) -> tuple[str, ...]:
    at = items.index(_ELLIPSIS)
    head, tail = items[:at], items[at + 1:]
    if len(head) < 3 or len(tail) != 1:
        raise UsageError(f"{flag}: write a progression as three terms, '...' and the last term (1,2,4,...,64)")
    try:
        a, b, c, last = (_num(v) for v in (*head[:3], tail[0]))
    except ValueError:
        raise UsageError(f"{flag}: a progression needs numbers ('{','.join(items)}')") from None
    integral = all(isinstance(x, int) for x in (a, b, c, last))
    if math.isclose(b - a, c - b) and b != a:
        d = b - a
        values = _walk(flag, a, last, lambda x: x + d, integral, descending=d < 0)
    elif a != 0 and b != 0 and math.isclose(b / a, c / b) and b / a > 1:
        r = b / a
        values = _walk(flag, a, last, lambda x: x * r, integral)
    else:
        raise UsageError(f"{flag}: {a},{b},{c} is neither arithmetic nor geometric (increasing)")
    return values
