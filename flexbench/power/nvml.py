"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, imported as ``pynvml``).

Where every GPU has the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ
since the driver loaded; Volta and later), the counters are summed and differenced. Otherwise
the board power (``nvmlDeviceGetPowerUsage``, mW) of every GPU is sampled, summed and
integrated. Only the GPUs are measured, not the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

from flexbench.power import PowerError
from flexbench.power.sampler import ThreadSampler
from flexbench.power.samples import Sample, Series


def energy_series(readings_mj: Sequence[tuple[float, Sequence[int]]], source: str = "nvml") -> Series:
    """Per-GPU total-energy readings (mJ) -> one cumulative energy series (J) from the first reading."""
    if not readings_mj:
        return Series("energy", (), source)
    base = sum(readings_mj[0][1])
    out = []
    for t, per_gpu in readings_mj:
        total = sum(per_gpu)
        if total < base:
            raise PowerError(f"{source}: the total-energy counter went backwards (driver reloaded?)")
        out.append(Sample(t, (total - base) / 1000.0))
    return Series("energy", tuple(out), source)


def power_series(readings_mw: Sequence[tuple[float, Sequence[int]]], source: str = "nvml") -> Series:
    """Per-GPU power readings (mW) -> one summed power series (W)."""
    return Series("power", tuple(Sample(t, sum(p) / 1000.0) for t, p in readings_mw), source)


def load() -> ModuleType:
    try:
        import pynvml
    except ImportError:
        raise PowerError("the nvml backend needs nvidia-ml-py (pip install nvidia-ml-py); "
                         "the collect,power recipe installs it with _nvml") from None
    return pynvml


def available(lib: ModuleType | None = None) -> str | None:
    """None when NVML works and sees at least one GPU, else why not."""
    try:
        lib = lib or load()
    except PowerError as exc:
        return str(exc)
    try:
        lib.nvmlInit()
    except Exception as exc:  # pynvml.NVMLError_* (LibraryNotFound, DriverNotLoaded...)
        return f"NVML cannot start: {exc} (no NVIDIA driver on this machine?)"
    try:
        n = lib.nvmlDeviceGetCount()
    except Exception as exc:
        return f"NVML cannot count GPUs: {exc}"
    finally:
        try:
            lib.nvmlShutdown()
        except Exception:
            pass
    return None if n > 0 else "NVML sees no GPU"


@dataclass(frozen=True)
class NvmlResult:
    series: Series
    gpus: tuple[str, ...]
    method: str  # "total_energy" or "power_usage"


class NvmlSampler:
    def __init__(self, interval_s: float, lib: ModuleType | None = None) -> None:
        self.lib = lib or load()
        why = available(self.lib)
        if why:
            raise PowerError(why)
        self.lib.nvmlInit()
        self.handles: list[Any] = [self.lib.nvmlDeviceGetHandleByIndex(i) for i in range(self.lib.nvmlDeviceGetCount())]
        self.names = tuple(str(self.lib.nvmlDeviceGetName(h)) for h in self.handles)
        self.use_energy = all(self._has_energy(h) for h in self.handles)
        read = self._energy if self.use_energy else self._power
        self._sampler: ThreadSampler[tuple[int, ...]] = ThreadSampler(read, interval_s, "nvml")

    def _has_energy(self, handle: Any) -> bool:
        try:
            self.lib.nvmlDeviceGetTotalEnergyConsumption(handle)
            return True
        except Exception:  # NVMLError_NotSupported on pre-Volta boards
            return False

    def _energy(self) -> tuple[int, ...]:
        return tuple(int(self.lib.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.handles)

    def _power(self) -> tuple[int, ...]:
        return tuple(int(self.lib.nvmlDeviceGetPowerUsage(h)) for h in self.handles)

    def start(self) -> None:
        self._sampler.start()

    def stop(self) -> NvmlResult:
        try:
            readings = self._sampler.stop()
        finally:
            try:
                self.lib.nvmlShutdown()
            except Exception:
                pass
        source = f"nvml:{len(self.handles)} GPU(s)"
        if self.use_energy:
            return NvmlResult(energy_series(readings, source), self.names, "total_energy")
        return NvmlResult(power_series(readings, source), self.names, "power_usage")
