"""Byte sizes as people write them (``500M``, ``2GiB``) and as cmx prints them; used by the
download recipes' limits. Standard library only."""

from __future__ import annotations

import re

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.I)


def parse_size(value: object, what: str = "size") -> int:
    """Bytes from '1000', '64k', '100M', '2GiB', '1.5G' (powers of 1024); otherwise a ValueError
    naming ``what`` (the flag) and the value."""
    m = _SIZE.fullmatch(str(value))
    if not m:
        raise ValueError(f"{what}={value}: expected a size in bytes (e.g. 500M, 20G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_number(value: object, what: str = "number", *, integer: bool = False, positive: bool = False) -> float:
    """A non-negative (or positive) number, or whole number; otherwise a ValueError naming ``what``."""
    kind = ("a positive " if positive else "a non-negative ") + ("whole number" if integer else "number")
    try:
        number = int(str(value).strip()) if integer else float(str(value).strip())
    except ValueError:
        raise ValueError(f"{what}={value}: expected {kind}") from None
    if number < 0 or (positive and number == 0):
        raise ValueError(f"{what}={value}: expected {kind}")
    return number


def human_size(n: float) -> str:
    """'512 B', '1.5 KiB', '3.0 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return str(n)
