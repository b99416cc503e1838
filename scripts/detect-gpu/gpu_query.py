"""Ask the machine about GPUs: NVML, nvidia-smi, rocm-smi, then torch as a fallback.

Each probe returns (devices, note). A missing tool is not an error: its note says
what happened, and the caller records every note in CMX_GPU_PROBES.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

TIMEOUT = 120  # seconds; nvidia-smi can block on a wedged driver, a GPU probe must not hang a run


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def nvml(parse) -> tuple[list[dict], str]:
    """NVML through nvidia-ml-py (module pynvml), only when it is importable here."""
    if importlib.util.find_spec("pynvml") is None:
        return [], "pynvml not installed"
    try:
        import pynvml as nv

        nv.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded ...
        return [], f"NVML unavailable: {type(exc).__name__}: {exc}"
    try:
        return _nvml_devices(nv, parse)
    except Exception as exc:  # pynvml raises NVMLError subclasses
        return [], f"NVML query failed: {exc}"
    finally:
        _try(nv.nvmlShutdown)


def _nvml_devices(nv, parse) -> tuple[list[dict], str]:
    driver = nv.nvmlSystemGetDriverVersion()
    cuda = nv.nvmlSystemGetCudaDriverVersion_v2()
    gpus = []
    for index in range(nv.nvmlDeviceGetCount()):
        h = nv.nvmlDeviceGetHandleByIndex(index)
        memory = nv.nvmlDeviceGetMemoryInfo(h).total
        major, minor = nv.nvmlDeviceGetCudaComputeCapability(h)
        gpus.append(parse.device(
            index=index, vendor="nvidia", name=_text(nv.nvmlDeviceGetName(h)),
            memory_bytes=memory, memory_mib=memory // (1024 * 1024), driver_version=_text(driver),
            cuda_version=f"{cuda // 1000}.{cuda % 1000 // 10}", compute_capability=f"{major}.{minor}",
            power_limit_w=_try(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000),
            max_graphics_clock_mhz=_try(lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_GRAPHICS)),
            uuid=_text(_try(lambda: nv.nvmlDeviceGetUUID(h))),
            pci_bus_id=_text(_try(lambda: nv.nvmlDeviceGetPciInfo(h).busId)), source="nvml",
        ))
    return gpus, f"{len(gpus)} device(s)"


def nvidia_smi(parse) -> tuple[list[dict], str]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return [], "nvidia-smi not on PATH"
    out = _run([exe, "-q", "-x"])
    if out.returncode != 0:
        # a host with the tool but no working driver: it prints why (e.g. "couldn't communicate with the driver")
        return [], f"nvidia-smi -q -x exited {out.returncode}: {(out.stdout + out.stderr).strip()[:200]}"
    gpus = parse.parse_nvidia_smi_xml(out.stdout)
    caps = _run([exe, "--query-gpu=compute_cap", "--format=csv,noheader"])  # driver >= 510
    if caps.returncode == 0:
        for gpu, cap in zip(gpus, parse.parse_nvidia_compute_caps(caps.stdout)):
            gpu["compute_capability"] = cap
    return gpus, f"{len(gpus)} device(s)"


def rocm_smi(parse) -> tuple[list[dict], str]:
    exe = shutil.which("rocm-smi")
    if not exe:
        return [], "rocm-smi not on PATH"
    out = _run([exe, "--showproductname", "--showmeminfo", "vram", "--showdriverversion", "--showmaxpower", "--json"])
    if out.returncode != 0 or "{" not in out.stdout:
        return [], f"rocm-smi exited {out.returncode}: {(out.stdout + out.stderr).strip()[:200]}"
    gpus = parse.parse_rocm_smi_json(out.stdout)
    return gpus, f"{len(gpus)} device(s)"


def torch(parse, python: str) -> tuple[list[dict], str]:
    """What torch sees, run in the target interpreter (it may differ from the one running cmx)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_probe.py")
    out = _run([python, script])
    if out.returncode != 0:
        return [], f"{python} {script} exited {out.returncode}: {out.stderr.strip()[-200:]}"
    if '"torch": null' in out.stdout:
        return [], f"torch not importable by {python}"
    gpus = parse.parse_torch_json(out.stdout)
    return gpus, f"{len(gpus)} device(s)"


def detect(parse, python: str | None = None) -> tuple[list[dict], list[str]]:
    """All vendors' devices, numbered 0..n-1; torch only when no vendor tool found any."""
    notes: list[str] = []
    nvidia: list[dict] = []
    for name, probe in (("nvml", nvml), ("nvidia-smi", nvidia_smi)):
        devices, note = _guarded(probe, parse)
        notes.append(f"{name}: {note}")
        if devices:
            nvidia = devices
            break
    amd, note = _guarded(rocm_smi, parse)
    notes.append(f"rocm-smi: {note}")
    gpus = nvidia + amd
    if not gpus:
        gpus, note = _guarded(torch, parse, python or sys.executable)
        notes.append(f"torch: {note}")
    for index, gpu in enumerate(gpus):
        gpu["index"] = index
    return gpus, notes


def _guarded(probe, *args) -> tuple[list[dict], str]:
    """A tool that times out or prints something unparseable is reported, not fatal."""
    try:
        return probe(*args)
    except subprocess.TimeoutExpired as exc:
        return [], f"timed out after {exc.timeout:g} s"
    except (OSError, ValueError) as exc:  # ValueError covers XML and JSON parse errors
        return [], f"failed: {type(exc).__name__}: {exc}"


def _try(fn):
    try:
        return fn()
    except Exception:
        return None


def _text(value):
    return value.decode() if isinstance(value, bytes) else value
