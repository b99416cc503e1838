"""Intel/AMD RAPL energy counters through the Linux powercap sysfs.

Layout (``/sys/class/powercap`` by default; the root is configurable so a test can point at
a tree it writes)::

    intel-rapl:0/{name,energy_uj,max_energy_range_uj}      name = package-0
    intel-rapl:0/intel-rapl:0:0/...                        name = core   (inside package-0)
    intel-rapl:0/intel-rapl:0:2/...                        name = dram
    intel-rapl:1/...                                       name = package-1
    intel-rapl-mmio:0/...                                  name = package-0 (same energy, MMIO)

Only the top-level ``intel-rapl:N`` zones named ``package-*`` are summed: subzones are parts
of their package (core, uncore) or outside it (dram), ``psys`` covers the packages too, and
the MMIO zone is the same package again. Summing any of them would count energy twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flexbench.power import PowerError
from flexbench.power.sampler import ThreadSampler
from flexbench.power.samples import Sample, Series, unwrap

DEFAULT_ROOT = Path("/sys/class/powercap")
_TOP = re.compile(r"^intel-rapl:(\d+)$")


@dataclass(frozen=True)
class Zone:
    path: Path
    name: str
    max_range_uj: int


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except PermissionError:
        raise PowerError(f"{path} is not readable (RAPL counters are root-only on most kernels; "
                         f"run as root or grant read access)") from None
    except (OSError, ValueError) as exc:
        raise PowerError(f"cannot read {path}: {exc}") from None


def package_zones(root: Path) -> tuple[Zone, ...]:
    """The package zones under ``root``, or a PowerError saying what was found instead."""
    if not root.is_dir():
        raise PowerError(f"no powercap tree at {root}")
    found: list[str] = []
    zones: list[Zone] = []
    for d in sorted(root.iterdir(), key=lambda p: p.name):
        m = _TOP.match(d.name)
        if not m or not (d / "energy_uj").exists():
            continue
        name = (d / "name").read_text().strip() if (d / "name").is_file() else ""
        found.append(f"{d.name}={name or '?'}")
        if name.startswith("package"):
            zones.append(Zone(d, name, _read_int(d / "max_energy_range_uj")))
    if not zones:
        raise PowerError(f"no RAPL package zone (intel-rapl:N named package-*) under {root}"
                         + (f"; found {', '.join(found)}" if found else ""))
    return tuple(zones)


def readable(root: Path) -> str | None:
    """None when RAPL can be used under ``root``, else why not (for the auto choice)."""
    try:
        for z in package_zones(root):
            _read_int(z.path / "energy_uj")
    except PowerError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class RaplResult:
    series: Series  # energy, J, all packages summed
    zones: tuple[str, ...]
    wraps: dict[str, int]


class RaplSampler:
    def __init__(self, root: Path, interval_s: float) -> None:
        self.root = root
        self.zones = package_zones(root)
        self._sampler: ThreadSampler[tuple[int, ...]] = ThreadSampler(self._read, interval_s, "rapl")

    def _read(self) -> tuple[int, ...]:
        return tuple(_read_int(z.path / "energy_uj") for z in self.zones)

    def start(self) -> None:
        self._sampler.start()

    def stop(self) -> RaplResult:
        readings = self._sampler.stop()
        times = [t for t, _ in readings]
        total = [0.0] * len(readings)
        wraps: dict[str, int] = {}
        for i, z in enumerate(self.zones):
            u = unwrap([r[i] for _, r in readings], z.max_range_uj)
            wraps[f"{z.path.name}({z.name})"] = u.wraps
            total = [a + b for a, b in zip(total, u.joules)]
        source = "rapl:" + "+".join(z.name for z in self.zones)
        return RaplResult(Series("energy", tuple(Sample(t, e) for t, e in zip(times, total)), source),
                          tuple(z.path.name for z in self.zones), wraps)
