"""RAPL through a powercap tree whose counters a thread advances (with wraps)."""

from __future__ import annotations

import os
import threading

import pytest

from flexbench.power import PowerError
from flexbench.power.rapl import RaplSampler, package_zones, readable
from flexbench.power.samples import Window, integrate
from tests.flexbench.power.powercap_tree import FakePowercap, ZoneSpec


def test_only_top_level_package_zones_are_summed(tmp_path):
    FakePowercap(tmp_path)  # files only, no thread
    zones = package_zones(tmp_path)
    assert [(z.path.name, z.name) for z in zones] == [("intel-rapl:0", "package-0"), ("intel-rapl:1", "package-1")]
    assert zones[0].max_range_uj == 25_000_000


def test_no_package_zone_says_what_it_found(tmp_path):
    FakePowercap(tmp_path, (ZoneSpec("intel-rapl:0", "psys", 10.0, 1_000_000),))
    with pytest.raises(PowerError, match=r"no RAPL package zone .* found intel-rapl:0=psys"):
        package_zones(tmp_path)
    assert "no powercap tree" in (readable(tmp_path / "absent") or "")


def test_sampler_unwraps_and_sums_packages(tmp_path, monkeypatch):
    # The fake's counters advance by 40 ms of its clock before each of the sampler's reads (from
    # its thread, and at start() and stop()), so package-0 (25 W, 2.5 J range) wraps every 2.5
    # readings whenever the thread gets to read: the wraps and the energy are exact however the
    # machine schedules it. (A fake advanced by its own thread on the wall clock lost a wrap
    # whenever the sampler's thread stalled 90 ms under load.)
    zones = (ZoneSpec("intel-rapl:0", "package-0", 25.0, 2_500_000),
             ZoneSpec("intel-rapl:0/intel-rapl:0:0", "core", 20.0, 1_000_000),
             ZoneSpec("intel-rapl:1", "package-1", 15.0, 262_143_328_850))
    fake = FakePowercap(tmp_path, zones)
    reads = threading.Semaphore(0)
    real_read = RaplSampler._read

    def read(self: RaplSampler) -> tuple[int, ...]:
        fake.advance(0.04)
        reads.release()
        return real_read(self)

    monkeypatch.setattr(RaplSampler, "_read", read)
    sampler = RaplSampler(tmp_path, 0.01)
    sampler.start()
    for _ in range(20):  # start()'s reading and 19 of the thread's (the "workload")
        assert reads.acquire(timeout=60), "the sampler's thread stopped reading"
    res = sampler.stop()
    s = res.series.samples
    assert res.zones == ("intel-rapl:0", "intel-rapl:1") and res.series.source == "rapl:package-0+package-1"
    assert len(s) == fake.writes - 1 >= 21  # every reading saw a write of its own (the first is t0's)
    p0 = zones[0]
    assert res.wraps["intel-rapl:0(package-0)"] == fake.wraps_until(p0, fake.last_write_t) >= 8
    assert res.wraps["intel-rapl:1(package-1)"] == 0
    expected_j = fake.package_watts * (fake.last_write_t - fake.t0 - 0.04)  # 40 W: core is not added
    assert s[-1].value - s[0].value == pytest.approx(expected_j, abs=1e-5 * len(zones))
    e = integrate(res.series, Window(s[0].t, s[-1].t))
    assert e.energy_j == pytest.approx(expected_j, abs=1e-5 * len(zones))
    assert fake.package_watts == 40.0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_unreadable_counter_is_explained(tmp_path):
    FakePowercap(tmp_path)
    (tmp_path / "intel-rapl:0" / "energy_uj").chmod(0)
    assert "not readable" in (readable(tmp_path) or "")
