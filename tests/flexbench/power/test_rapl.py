"""RAPL through a powercap tree whose counters a thread advances (with wraps)."""

from __future__ import annotations

import os
import time

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


def test_sampler_unwraps_and_sums_packages(tmp_path):
    # package-0 wraps every 100 ms at 25 W (2.5 J range); the sampler reads every 10 ms, so
    # a wrap is only missed if its thread stalls for 90 ms. The first reading (taken by
    # start()) sees the counters of t0 and the last (taken by stop()) those of the fake's last
    # write, so the energy the sampler reports is exact whatever the scheduling was.
    zones = (ZoneSpec("intel-rapl:0", "package-0", 25.0, 2_500_000),
             ZoneSpec("intel-rapl:0/intel-rapl:0:0", "core", 20.0, 1_000_000),
             ZoneSpec("intel-rapl:1", "package-1", 15.0, 262_143_328_850))
    fake = FakePowercap(tmp_path, zones, step_s=0.001)
    sampler = RaplSampler(tmp_path, 0.01)
    sampler.start()
    with fake:
        time.sleep(0.8)  # the "workload"
    res = sampler.stop()
    s = res.series.samples
    assert res.zones == ("intel-rapl:0", "intel-rapl:1") and res.series.source == "rapl:package-0+package-1"
    p0 = zones[0]
    assert res.wraps["intel-rapl:0(package-0)"] == fake.wraps_until(p0, fake.last_write_t) >= 5
    assert res.wraps["intel-rapl:1(package-1)"] == 0
    expected_j = fake.package_watts * (fake.last_write_t - fake.t0)  # 40 W: core is not added
    assert s[-1].value - s[0].value == pytest.approx(expected_j, abs=1e-5 * len(zones))
    e = integrate(res.series, Window(s[0].t, s[-1].t))
    assert e.energy_j == pytest.approx(expected_j, abs=1e-5 * len(zones))
    assert fake.package_watts == 40.0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_unreadable_counter_is_explained(tmp_path):
    FakePowercap(tmp_path)
    (tmp_path / "intel-rapl:0" / "energy_uj").chmod(0)
    assert "not readable" in (readable(tmp_path) or "")
