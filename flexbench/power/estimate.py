"""A TDP-based ESTIMATE of CPU package power: ``tdp_w`` x CPU utilisation (psutil).

This is a model, not a measurement: every output built from it carries ``"estimate": true``
and the word ESTIMATE. It ignores idle power, memory, turbo and everything outside the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexbench.power import PowerError
from flexbench.power.sampler import ThreadSampler
from flexbench.power.samples import Sample, Series

LABEL = "ESTIMATE (TDP x CPU utilisation, not a measurement)"


def watts(tdp_w: float, utilisation_pct: float) -> float:
    return tdp_w * max(0.0, min(100.0, utilisation_pct)) / 100.0


@dataclass(frozen=True)
class EstimateResult:
    series: Series
    tdp_w: float


class EstimateSampler:
    def __init__(self, tdp_w: float | None, interval_s: float) -> None:
        if tdp_w is None or not tdp_w > 0:
            raise PowerError("the estimate backend needs --tdp_w (the CPU's TDP in watts, e.g. --tdp_w=65)")
        try:
            import psutil
        except ImportError:
            raise PowerError("the estimate backend needs psutil (pip install psutil)") from None
        self.tdp_w = float(tdp_w)
        self._psutil = psutil
        psutil.cpu_percent(interval=None)  # primes the counter; the next call measures since now
        self._sampler: ThreadSampler[float] = ThreadSampler(self._read, interval_s, "estimate")

    def _read(self) -> float:
        return float(self._psutil.cpu_percent(interval=None))

    def start(self) -> None:
        self._sampler.start()

    def stop(self) -> EstimateResult:
        readings = self._sampler.stop()
        series = Series("power", tuple(Sample(t, watts(self.tdp_w, u)) for t, u in readings),
                        f"ESTIMATE:tdp={self.tdp_w:g}W x cpu_utilisation")
        return EstimateResult(series, self.tdp_w)
