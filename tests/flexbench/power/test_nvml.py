"""NVML's integration logic (no GPU here: the driver path is tested through the recipe)."""

from __future__ import annotations

import pytest

from flexbench.power import PowerError
from flexbench.power.nvml import energy_series, power_series
from flexbench.power.samples import Window, integrate


def test_total_energy_counters_of_all_gpus_are_summed_from_the_first_reading():
    # two GPUs at 200 W and 100 W: +200 000 mJ and +100 000 mJ per second
    readings = [(10.0 + i, (5_000_000 + 200_000 * i, 9_000_000 + 100_000 * i)) for i in range(5)]
    s = energy_series(readings)
    assert [x.value for x in s.samples] == [0.0, 300.0, 600.0, 900.0, 1200.0]
    e = integrate(s, Window(10.5, 13.5))
    assert e.energy_j == pytest.approx(900.0) and e.avg_w == pytest.approx(300.0)


def test_a_counter_that_goes_back_is_an_error():
    with pytest.raises(PowerError, match="went backwards"):
        energy_series([(0.0, (1000,)), (1.0, (10,))])


def test_sampled_power_is_summed_and_integrated():
    readings = [(0.0, (150_000, 100_000)), (1.0, (150_000, 100_000)), (2.0, (250_000, 150_000))]
    s = power_series(readings)
    assert [x.value for x in s.samples] == [250.0, 250.0, 400.0]
    e = integrate(s, Window(0.0, 2.0))
    assert e.energy_j == pytest.approx(250.0 + 325.0) and e.method == "trapezoid"
