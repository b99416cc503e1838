"""Find the largest sustainable value of one input, then run points below it (the Server QPS sweep).

``--search.KEY=LO:HI`` probes KEY: LO first, then doubling while the run is VALID (LoadGen's verdict:
latency limits and early stopping met), then ``--search_steps`` bisections between the last VALID
and the first INVALID value. The largest VALID value is the maximum; ``--search_points=N`` then runs
N points evenly spaced up to it (max*k/N, k = 1..N). Every probe and point is an experiment point:
recorded, resumable, in the one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from cmx.errors import UsageError

Probe = Callable[[float], bool]


@dataclass(frozen=True)
class SearchSpec:
    key: str
    low: float
    high: float
    steps: int
    points: int


def parse_search(raw: Any, steps: Any, points: Any) -> SearchSpec:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise UsageError("--search takes one key: --search.KEY=LOW:HIGH (e.g. --search.target_qps=1:1000)")
    (key, text), = raw.items()
    parts = str(text).split(":")
    try:
        low, high = float(parts[0]), float(parts[1])
        if len(parts) != 2:
            raise ValueError
    except (ValueError, IndexError):
        raise UsageError(f"--search.{key}={text}: expected LOW:HIGH (e.g. 1:1000)") from None
    if not 0 < low < high:
        raise UsageError(f"--search.{key}={text}: expected 0 < LOW < HIGH")
    try:
        n_steps, n_points = int(str(steps)), int(str(points))
        if n_steps < 0 or n_points < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"--search_steps={steps} / --search_points={points}: whole numbers (steps >= 0, points >= 1)") from None
    return SearchSpec(key, low, high, n_steps, n_points)


def fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def find_max(spec: SearchSpec, probe: Probe) -> float | None:
    """The largest value probe() accepts (None when not even LOW is), to within the bisection steps."""
    if not probe(spec.low):
        return None
    good, bad = spec.low, None
    while bad is None and good < spec.high:
        nxt = min(good * 2, spec.high)
        if probe(nxt):
            good = nxt
        else:
            bad = nxt
    if bad is None:
        return good
    for _ in range(spec.steps):
        mid = _round((good + bad) / 2)
        if mid in (good, bad):
            break
        if probe(mid):
            good = mid
        else:
            bad = mid
    return good


def _round(x: float) -> float:
    """Probe values with 3 significant digits: readable, and a re-run probes the same ones."""
    return float(f"{x:.3g}")


def below(maximum: float, n: int) -> list[float]:
    return [_round(maximum * k / n) for k in range(1, n + 1)]
