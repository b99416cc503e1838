"""The TDP estimate: its model and its refusal to run without a TDP."""

from __future__ import annotations

import time

import pytest

from flexbench.power import PowerError
from flexbench.power.estimate import LABEL, EstimateSampler, watts


def test_model_is_tdp_times_utilisation():
    assert watts(65.0, 50.0) == 32.5 and watts(65.0, 0.0) == 0.0 and watts(65.0, 140.0) == 65.0


def test_a_tdp_is_required():
    with pytest.raises(PowerError, match="--tdp_w"):
        EstimateSampler(None, 0.05)


def test_samples_are_labelled_estimates():
    pytest.importorskip("psutil")
    s = EstimateSampler(100.0, 0.02)
    s.start()
    time.sleep(0.1)
    res = s.stop()
    assert res.series.kind == "power" and res.series.source.startswith("ESTIMATE")
    assert all(0.0 <= x.value <= 100.0 for x in res.series.samples)
    assert "ESTIMATE" in LABEL and "not a measurement" in LABEL
