"""A powercap sysfs tree in a temp dir, with the real file layout, whose energy counters a
background thread advances at known constant powers (and wraps at max_energy_range_uj)."""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ZoneSpec:
    dirname: str  # e.g. "intel-rapl:0" or "intel-rapl:0/intel-rapl:0:0"
    name: str
    watts: float
    max_range_uj: int
    start_uj: int = 0


# two packages (the ones that count), their subzones, psys and the MMIO copy (which must not count)
DEFAULT_ZONES = (
    ZoneSpec("intel-rapl:0", "package-0", 30.0, 25_000_000, 20_000_000),  # wraps every 0.83 s
    ZoneSpec("intel-rapl:0/intel-rapl:0:0", "core", 12.0, 262_143_328_850),
    ZoneSpec("intel-rapl:0/intel-rapl:0:2", "dram", 4.0, 65_712_999_613),
    ZoneSpec("intel-rapl:1", "package-1", 20.0, 262_143_328_850, 262_133_328_850),  # wraps after 0.5 s
    ZoneSpec("intel-rapl:1/intel-rapl:1:0", "core", 9.0, 262_143_328_850),
    ZoneSpec("intel-rapl:2", "psys", 90.0, 262_143_328_850),
    ZoneSpec("intel-rapl-mmio:0", "package-0", 30.0, 262_143_328_850),
)


class FakePowercap:
    def __init__(self, root: Path, zones: tuple[ZoneSpec, ...] = DEFAULT_ZONES, step_s: float = 0.002) -> None:
        self.root = root
        self.zones = zones
        self.step_s = step_s
        self.t0 = time.time()
        self.writes = 0
        self.last_write_t = self.t0
        self.history: list[tuple[float, float]] = []  # (the time a write stands for, when it was in place)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        for z in zones:
            d = root / z.dirname
            d.mkdir(parents=True, exist_ok=True)
            (d / "name").write_text(z.name + "\n")
            (d / "max_energy_range_uj").write_text(f"{z.max_range_uj}\n")
            (d / "enabled").write_text("1\n")
        self._write(self.t0)

    @property
    def package_watts(self) -> float:
        return sum(z.watts for z in self.zones if z.dirname.count(":") == 1 and z.dirname.startswith("intel-rapl:")
                   and z.name.startswith("package"))

    def counter(self, z: ZoneSpec, t: float) -> int:
        return int(z.start_uj + z.watts * (t - self.t0) * 1e6) % z.max_range_uj

    def wraps_until(self, z: ZoneSpec, t: float) -> int:
        return int(z.start_uj + z.watts * (t - self.t0) * 1e6) // z.max_range_uj

    def _write(self, t: float) -> None:
        for z in self.zones:
            path = self.root / z.dirname / "energy_uj"
            tmp = path.with_name(".energy_uj.tmp")
            tmp.write_text(f"{self.counter(z, t)}\n")
            os.replace(tmp, path)
        self.writes += 1
        self.last_write_t = t
        self.history.append((t, time.time()))

    def lag_bound(self, stamp: float, reader_slack_s: float) -> float:
        """The most the counters read by a reader that stamped ``stamp`` (and read at most
        ``reader_slack_s`` before) can lag behind this fake's clock: the reader saw the newest write
        in place when it read, or a later one. Taken from the writes this fake recorded, so a
        writer thread that was late on a loaded machine widens it."""
        ends = [end for _, end in self.history]
        k = bisect.bisect_right(ends, stamp - reader_slack_s) - 1
        return stamp - (self.history[k][0] if k >= 0 else self.t0)

    def advance(self, dt_s: float) -> None:
        """Write the counters ``dt_s`` after the last write (no thread: a test that drives the
        fake between a sampler's reads, so no reading can miss a wrap however late it comes)."""
        self._write(self.last_write_t + dt_s)

    def _loop(self) -> None:
        while not self._stop.wait(self.step_s):
            self._write(time.time())

    def __enter__(self) -> "FakePowercap":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
