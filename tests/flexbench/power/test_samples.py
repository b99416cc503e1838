"""Counter unwrapping, the window cut and integration, and the samples CSV."""

from __future__ import annotations

import pytest

from flexbench.power import PowerError
from flexbench.power.samples import (Sample, Series, Window, from_pairs, integrate, mean_in_window, read_csv, unwrap,
                                     write_csv)


def test_unwrap_without_wrap_is_the_difference_from_the_first_reading():
    u = unwrap([1_000_000, 3_000_000, 3_000_000, 10_500_000], 100_000_000)
    assert u.joules == (0.0, 2.0, 2.0, 9.5) and u.wraps == 0


def test_unwrap_adds_the_range_at_each_wrap():
    # range 10 J: 8 J -> 2 J is 4 J later (2 to the top, 2 after it), then 2 -> 9 -> 1 is 7 + 2
    u = unwrap([8_000_000, 2_000_000, 9_000_000, 1_000_000], 10_000_000)
    assert u.joules == pytest.approx((0.0, 4.0, 11.0, 13.0)) and u.wraps == 2


def test_unwrap_rejects_a_bad_range():
    with pytest.raises(PowerError, match="max_energy_range_uj"):
        unwrap([1, 2], 0)


def test_energy_series_is_read_at_the_window_edges_by_interpolation():
    # a counter rising 10 J/s, sampled every second
    s = from_pairs("energy", [(100.0 + i, 10.0 * i) for i in range(6)], "test")
    e = integrate(s, Window(101.25, 103.75))
    assert e.energy_j == pytest.approx(25.0) and e.avg_w == pytest.approx(10.0)
    assert e.samples_in_window == 2 and e.method == "counter_difference"


def test_power_samples_outside_the_window_do_not_count():
    # 100 W inside the window, a 10 kW spike well outside it
    pts = [(0.0, 10_000.0), (1.0, 100.0), (2.0, 100.0), (3.0, 100.0), (4.0, 100.0), (5.0, 10_000.0)]
    e = integrate(from_pairs("power", pts), Window(1.0, 4.0))
    assert e.energy_j == pytest.approx(300.0) and e.avg_w == pytest.approx(100.0) and e.samples_in_window == 4


def test_power_is_integrated_by_the_trapezoid_rule_with_interpolated_edges():
    # 0 W at t=0 rising linearly to 100 W at t=10: energy in [2, 6] is the mean of 20 and 60 W times 4 s
    s = from_pairs("power", [(0.0, 0.0), (5.0, 50.0), (10.0, 100.0)])
    e = integrate(s, Window(2.0, 6.0))
    assert e.energy_j == pytest.approx(160.0) and e.avg_w == pytest.approx(40.0) and e.method == "trapezoid"


def test_a_window_the_samples_do_not_cover_is_an_error():
    s = from_pairs("energy", [(10.0, 0.0), (11.0, 5.0)], "rapl:package-0")
    with pytest.raises(PowerError, match="do not cover LoadGen's power window"):
        integrate(s, Window(9.5, 10.5))
    with pytest.raises(PowerError, match="at least 2"):
        integrate(from_pairs("energy", [(10.0, 0.0)]), Window(10.0, 10.0))


def test_a_zero_length_window_takes_the_power_of_its_sampling_interval():
    s = from_pairs("energy", [(0.0, 0.0), (1.0, 30.0), (2.0, 90.0)])
    e = integrate(s, Window(1.5, 1.5))
    assert e.energy_j == 0.0 and e.avg_w == pytest.approx(60.0)


def test_mean_in_window_follows_mlperfs_rule():
    # strictly inside the window, positive readings only
    s = from_pairs("power", [(1.0, 500.0), (2.0, 100.0), (3.0, -1.0), (4.0, 300.0), (5.0, 900.0)])
    e = mean_in_window(s, Window(1.0, 5.0))
    assert e.avg_w == pytest.approx(200.0) and e.samples_in_window == 2 and e.energy_j == pytest.approx(800.0)
    with pytest.raises(PowerError, match="no power samples"):
        mean_in_window(s, Window(4.1, 4.9))


def test_series_must_be_in_time_order_and_windows_forward():
    with pytest.raises(ValueError):
        Series("power", (Sample(2.0, 1.0), Sample(1.0, 1.0)))
    with pytest.raises(PowerError, match="ends before it begins"):
        Window(2.0, 1.0)


def test_the_csv_keeps_enough_to_cut_the_window_again(tmp_path):
    s = from_pairs("energy", [(1_700_000_000.0 + i * 0.1, i * 3.5) for i in range(20)], "rapl:package-0")
    path = tmp_path / "power_samples.csv"
    write_csv(path, s)
    back = read_csv(path)
    assert back.kind == "energy" and back.source == "rapl:package-0" and len(back.samples) == 20
    w = Window(1_700_000_000.25, 1_700_000_001.55)
    assert integrate(back, w).energy_j == pytest.approx(integrate(s, w).energy_j)
    header = path.read_text().splitlines()[0]
    assert header == "time_unix_s,time_local,kind,value,unit,source"
