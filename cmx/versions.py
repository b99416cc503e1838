"""Version strings: tolerant ordering and ranges (min/max) with their sources."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cmx.errors import Requirement

_PART = re.compile(r"\d+|[A-Za-z]+")


def vkey(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: numeric parts compare as numbers, and a release sorts after its pre-releases."""
    parts: list[tuple[int, int | str]] = []
    for p in _PART.findall(str(version).split("+", 1)[0]):
        parts.append((1, int(p)) if p.isdigit() else (0, p.lower()))
    return tuple(parts)


def compare(a: str, b: str) -> int:
    ka, kb = vkey(a), vkey(b)
    # pad with zeros so 3.10 == 3.10.0
    n = max(len(ka), len(kb))
    ka = ka + ((1, 0),) * (n - len(ka))
    kb = kb + ((1, 0),) * (n - len(kb))
    return (ka > kb) - (ka < kb)


@dataclass(frozen=True)
class VersionRequest:
    """The merged version constraints on one node, each with who asked for it."""

    exact: tuple[str, Requirement] | None = None
    minimum: tuple[str, Requirement] | None = None
    maximum: tuple[str, Requirement] | None = None
    max_usable: str | None = None

    def causes(self) -> list[Requirement]:
        return [c[1] for c in (self.exact, self.minimum, self.maximum) if c]

    def admits(self, version: str) -> bool:
        if self.minimum and compare(version, self.minimum[0]) < 0:
            return False
        if self.maximum and compare(version, self.maximum[0]) > 0:
            return False
        return True

    def describe(self) -> str:
        bits = []
        if self.exact:
            bits.append(f"=={self.exact[0]}")
        if self.minimum:
            bits.append(f">={self.minimum[0]}")
        if self.maximum:
            bits.append(f"<={self.maximum[0]}")
        return ",".join(bits)

    def merged(self, *, exact: str | None = None, minimum: str | None = None, maximum: str | None = None,
               max_usable: str | None = None, source: str, override_exact: bool = False) -> "VersionRequest":
        """Intersect with new constraints; an exact version from a closer-to-user source overrides."""
        new_exact = self.exact
        if exact is not None:
            if self.exact is None or override_exact:
                new_exact = (str(exact), Requirement(f"version == {exact}", source))
        new_min = self.minimum
        if minimum is not None and (new_min is None or compare(str(minimum), new_min[0]) > 0):
            new_min = (str(minimum), Requirement(f"version >= {minimum}", source))
        new_max = self.maximum
        if maximum is not None and (new_max is None or compare(str(maximum), new_max[0]) < 0):
            new_max = (str(maximum), Requirement(f"version <= {maximum}", source))
        return VersionRequest(new_exact, new_min, new_max, str(max_usable) if max_usable is not None else self.max_usable)
