"""Sample series, counter wrap-around, the window cut and integration.

Two kinds of series:

- ``power``: instantaneous watts (NVML power usage, a PTDaemon analyser, the estimate);
- ``energy``: a cumulative energy counter in joules, already unwrapped (RAPL, NVML total energy).

Times are Unix seconds (``time.time()``), the clock LoadGen's wall-clock markers are on.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Literal, Sequence

from flexbench.fileio import atomic_write_text
from flexbench.power import PowerError

Kind = Literal["power", "energy"]
UNITS: dict[str, str] = {"power": "W", "energy": "J"}


@dataclass(frozen=True)
class Sample:
    t: float  # Unix time, s
    value: float  # W (power series) or cumulative J (energy series)


@dataclass(frozen=True)
class Series:
    kind: Kind
    samples: tuple[Sample, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in UNITS:
            raise ValueError(f"unknown series kind {self.kind!r}")
        if any(b.t < a.t for a, b in zip(self.samples, self.samples[1:])):
            raise ValueError("samples are not in time order")


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PowerError(f"the power window ends before it begins ({self.start} > {self.end})")

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class WindowEnergy:
    energy_j: float
    avg_w: float
    samples_in_window: int
    method: str


@dataclass(frozen=True)
class Unwrapped:
    joules: tuple[float, ...]  # cumulative from the first reading
    wraps: int


def unwrap(raw_uj: Sequence[int], max_range_uj: int) -> Unwrapped:
    """Turn raw readings of a wrapping micro-joule counter into cumulative joules.

    The counter runs from 0 to ``max_range_uj`` and starts again at 0; a reading below the
    previous one means exactly one wrap, so the sampling interval must be shorter than one
    full range (minutes to hours for RAPL packages)."""
    if max_range_uj <= 0:
        raise PowerError(f"max_energy_range_uj must be positive, got {max_range_uj}")
    total = 0
    wraps = 0
    out = [0.0] if raw_uj else []
    for prev, cur in zip(raw_uj, raw_uj[1:]):
        if cur >= prev:
            total += cur - prev
        else:
            total += (max_range_uj - prev) + cur
            wraps += 1
        out.append(total / 1e6)
    return Unwrapped(tuple(out), wraps)


def value_at(samples: Sequence[Sample], t: float) -> float:
    """Linear interpolation between the two samples around ``t`` (which they must bracket)."""
    if not samples or t < samples[0].t or t > samples[-1].t:
        raise PowerError(f"no samples around {t}")
    lo, hi = 0, len(samples) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if samples[mid].t <= t:
            lo = mid
        else:
            hi = mid
    a, b = samples[lo], samples[hi]
    if b.t == a.t:
        return b.value
    return a.value + (b.value - a.value) * (t - a.t) / (b.t - a.t)


def _slope_at(samples: Sequence[Sample], t: float) -> float:
    """Power (J/s) of an energy series over the sampling interval that holds ``t``."""
    before = [s for s in samples if s.t <= t]
    after = [s for s in samples if s.t > t]
    if not before or not after:
        raise PowerError(f"no sampling interval around {t}")
    a, b = before[-1], after[0]
    return (b.value - a.value) / (b.t - a.t)


def _check_cover(series: Series, window: Window) -> None:
    s = series.samples
    if len(s) < 2:
        raise PowerError(f"{series.source or 'the sampler'} took {len(s)} sample(s); at least 2 are needed")
    if s[0].t > window.start or s[-1].t < window.end:
        raise PowerError(
            f"the samples ({fmt_local(s[0].t)} .. {fmt_local(s[-1].t)}) do not cover LoadGen's power window "
            f"({fmt_local(window.start)} .. {fmt_local(window.end)}); was the workload run while sampling?")


def in_window(series: Series, window: Window) -> tuple[Sample, ...]:
    return tuple(x for x in series.samples if window.start <= x.t <= window.end)


def integrate(series: Series, window: Window) -> WindowEnergy:
    """Energy and average power inside ``window``.

    Samples outside the window are not counted; the values at the window's two edges are
    interpolated between the samples on either side of each edge. Energy counters are read
    at the edges (``counter_difference``); power samples are integrated by the trapezoid rule
    (``trapezoid``)."""
    _check_cover(series, window)
    inside = in_window(series, window)
    s = series.samples
    if series.kind == "energy":
        energy = value_at(s, window.end) - value_at(s, window.start)
        avg = energy / window.duration if window.duration > 0 else _slope_at(s, window.start)
        return WindowEnergy(energy, avg, len(inside), "counter_difference")
    pts = [Sample(window.start, value_at(s, window.start))]
    pts += [x for x in inside if window.start < x.t < window.end]
    pts.append(Sample(window.end, value_at(s, window.end)))
    energy = sum((b.t - a.t) * (a.value + b.value) / 2 for a, b in zip(pts, pts[1:]))
    avg = energy / window.duration if window.duration > 0 else pts[0].value
    return WindowEnergy(energy, avg, len(inside), "trapezoid")


def mean_in_window(series: Series, window: Window) -> WindowEnergy:
    """MLPerf's rule for analyser samples: the mean of the positive readings strictly inside
    the window; energy is that mean times the window's length."""
    if series.kind != "power":
        raise ValueError("mean_in_window needs a power series")
    vals = [x.value for x in series.samples if window.start < x.t < window.end and x.value > 0]
    if not vals:
        raise PowerError(f"no power samples from {series.source or 'the analyser'} fall inside LoadGen's power "
                         f"window ({fmt_local(window.start)} .. {fmt_local(window.end)})")
    avg = sum(vals) / len(vals)
    return WindowEnergy(avg * window.duration, avg, len(vals), "mean_of_samples_in_window")


def fmt_local(t: float) -> str:
    """The LoadGen/PTDaemon time format, local time, milliseconds."""
    if not math.isfinite(t):
        return str(t)
    return datetime.fromtimestamp(t).strftime("%m-%d-%Y %H:%M:%S.%f")[:-3]


CSV_HEADER = ("time_unix_s", "time_local", "kind", "value", "unit", "source")


def write_csv(path: Path, series: Series) -> None:
    """``power_samples.csv``: one row per sample, so the window can be cut again later."""
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    unit = UNITS[series.kind]
    for x in series.samples:
        w.writerow((f"{x.t:.6f}", fmt_local(x.t), series.kind, repr(float(x.value)), unit, series.source))
    atomic_write_text(path, buf.getvalue())


def read_csv(path: Path) -> Series:
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    if not rows:
        raise PowerError(f"{path}: no samples")
    try:
        kind = rows[0]["kind"]
        samples = tuple(Sample(float(r["time_unix_s"]), float(r["value"])) for r in rows)
    except (KeyError, ValueError) as exc:
        raise PowerError(f"{path}: not a power_samples.csv ({exc})") from None
    if kind not in UNITS:
        raise PowerError(f"{path}: unknown kind {kind!r}")
    return Series(kind, samples, rows[0].get("source", ""))  # type: ignore[arg-type]


def from_pairs(kind: Kind, pairs: Iterable[tuple[float, float]], source: str = "") -> Series:
    return Series(kind, tuple(Sample(t, v) for t, v in pairs), source)
