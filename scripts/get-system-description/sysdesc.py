"""Assemble the MLPerf inference system description from detected facts.

REQUIRED_FIELDS is SYSTEM_DESC_REQUIRED_FIELDS of the MLPerf inference submission
checker (mlcommons/inference, tools/submission/submission_checker/constants.py,
read at commit b66003e10e2db4b8c36a448b0545ec90fcc6e9e9). docs/system-description.md
says where each value comes from. A value nothing detects and nobody gave is "N/A".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

NA = "N/A"

REQUIRED_FIELDS = [
    "division", "submitter", "status", "system_name", "number_of_nodes", "host_processor_model_name",
    "host_processors_per_node", "host_processor_core_count", "host_memory_capacity", "host_storage_capacity",
    "host_storage_type", "accelerators_per_node", "accelerator_model_name", "accelerator_memory_capacity",
    "framework", "operating_system", "system_type", "other_software_stack", "host_processor_frequency",
    "host_processor_caches", "host_memory_configuration", "host_processor_interconnect", "host_networking",
    "host_networking_topology", "accelerator_frequency", "accelerator_host_interconnect", "accelerator_interconnect",
    "accelerator_interconnect_topology", "accelerator_memory_configuration", "accelerator_on-chip_memories",
    "cooling", "hw_notes", "sw_notes", "host_network_card_count", "system_type_detail",
]

# SYSTEM_DESC_MEANINGFUL_RESPONSE_REQUIRED_FIELDS of the same file: the checker rejects a falsy value there.
# A numeric 0 is falsy in Python, so counts are written as strings ("0"), as CPU-only submissions do.
MEANINGFUL_FIELDS = [
    "division", "submitter", "system_type", "status", "system_name", "number_of_nodes", "host_processor_model_name",
    "host_processors_per_node", "host_processor_core_count", "host_memory_capacity", "host_memory_configuration",
    "host_storage_capacity", "host_storage_type", "host_networking", "host_network_card_count",
    "host_networking_topology", "accelerators_per_node", "accelerator_model_name", "accelerator_memory_capacity",
    "accelerator_host_interconnect", "accelerator_memory_configuration", "accelerator_interconnect", "cooling",
    "framework", "operating_system", "other_software_stack",
]

# Values the checker accepts for the fields it checks beyond presence (VALID_AVAILABILITIES, system_type_check,
# the division folders). "N/A" is also allowed here: it means "not given yet", and the checker will say so.
ALLOWED = {
    "status": {"available", "preview", "rdi"},
    "system_type": {"datacenter", "edge", "datacenter,edge", "edge,datacenter"},
    "division": {"closed", "open", "network"},
}

# distribution name -> how MLPerf descriptions usually name it
FRAMEWORKS = [("vllm", "vLLM"), ("tensorrt-llm", "TensorRT-LLM"), ("sglang", "SGLang"), ("torch", "PyTorch"),
              ("tensorflow", "TensorFlow"), ("onnxruntime", "ONNX Runtime"), ("onnxruntime-gpu", "ONNX Runtime GPU"),
              ("jax", "JAX"), ("openvino", "OpenVINO"), ("tensorrt", "TensorRT")]
OTHER_PACKAGES = [("transformers", "Transformers"), ("mlcommons-loadgen", "MLPerf LoadGen"), ("numpy", "NumPy")]


def format_bytes(n: int) -> str:
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"


# -- facts the detect-* recipes do not cover -----------------------------------------------------

def storage(sys_block: str = "/sys/block") -> tuple[str, str]:
    """(capacity, type) over whole disks backed by a device; loop, zram, dm and removable media are left out."""
    sizes: dict[str, int] = {}
    for dev in sorted(Path(sys_block).glob("*")):
        if not (dev / "device").exists() or _read(dev / "removable") == "1":
            continue
        sectors = _read(dev / "size")
        if sectors.isdigit() and int(sectors) > 0:
            sizes[dev.name] = int(sectors) * 512  # /sys/block/*/size is in 512-byte units whatever the sector size
    if not sizes:
        return NA, NA
    kinds = Counter(_disk_kind(name, _read(Path(sys_block, name, "queue", "rotational"))) for name in sizes)
    kind = ", ".join(f"{n}x {k}" if n > 1 or len(kinds) > 1 else k for k, n in sorted(kinds.items()))
    return format_bytes(sum(sizes.values())), kind


def _disk_kind(name: str, rotational: str) -> str:
    if name.startswith("nvme"):
        return "NVMe SSD"
    if name.startswith("vd"):
        return "virtio disk"  # a VM's disk: the host's drive type is not visible from inside
    if name.startswith("xvd"):
        return "Xen virtual disk"
    if name.startswith("mmcblk"):
        return "eMMC/SD"
    return {"0": "SSD", "1": "HDD"}.get(rotational, "disk")


def networking(sys_net: str = "/sys/class/net") -> tuple[str, int]:
    """('eth0: virtio_net, speed unknown', 1) over interfaces backed by a device (ports, not virtual links)."""
    ports = []
    for dev in sorted(Path(sys_net).glob("*")):
        if not (dev / "device").exists():
            continue
        driver_link = dev / "device" / "driver"
        driver = os.path.basename(os.path.realpath(driver_link)) if driver_link.exists() else "unknown driver"
        ports.append(f"{dev.name}: {driver}, {_speed(_read(dev / 'speed'))}")
    return ("; ".join(ports) or NA), len(ports)


def _speed(mbits: str) -> str:
    """/sys/class/net/*/speed is in Mb/s; -1 or unreadable when the link or driver does not say."""
    if not mbits.isdigit() or int(mbits) == 0:
        return "speed unknown"
    return f"{int(mbits) / 1000:g} Gb/s" if int(mbits) >= 1000 else f"{mbits} Mb/s"


def system_name(dmi: str = "/sys/class/dmi/id") -> str:
    """The vendor's product name from DMI (readable without root); not the host name."""
    vendor, product = _read(Path(dmi, "sys_vendor")), _read(Path(dmi, "product_name"))
    name = " ".join(x for x in (vendor, product) if x and x.lower() not in ("to be filled by o.e.m.", "default string"))
    return name or NA


def software(python: str, recipe_dir: str) -> dict:
    """Python and package versions as the target interpreter sees them (it may not be the one running cmx)."""
    info: dict = {"python": None, "packages": {}}
    names = [d for d, _ in FRAMEWORKS + OTHER_PACKAGES]
    try:
        out = subprocess.run([python, os.path.join(recipe_dir, "software_versions.py"), *names],
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if out.returncode == 0:
            info = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    gcc = shutil.which("gcc")
    if gcc:
        try:
            info["gcc"] = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True, timeout=60,
                                         stdin=subprocess.DEVNULL).stdout.strip() or None
        except (OSError, subprocess.TimeoutExpired):
            pass
    return info


def _read(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


# -- assembling ----------------------------------------------------------------------------------

def _int(text) -> int | None:
    return int(text) if str(text or "").isdigit() else None


def _or_na(value):
    return NA if value in (None, "", []) else value


def describe_gpus(gpus: list[dict]) -> dict:
    if not gpus:
        return {"accelerators_per_node": 0, "accelerator_model_name": NA, "accelerator_memory_capacity": NA,
                "accelerator_frequency": NA, "accelerator_host_interconnect": NA}

    def same(key, fmt=str):
        """One value when all devices agree, else each device's value in order."""
        values = [g.get(key) for g in gpus]
        if any(v is None for v in values):
            return NA
        distinct = list(dict.fromkeys(fmt(v) for v in values))
        return distinct[0] if len(distinct) == 1 else " / ".join(fmt(v) for v in values)

    return {
        "accelerators_per_node": len(gpus),
        "accelerator_model_name": same("name"),
        "accelerator_memory_capacity": same("memory_bytes", format_bytes),
        "accelerator_frequency": same("max_graphics_clock_mhz", lambda v: f"{v} MHz"),
        "accelerator_host_interconnect": same("pcie"),
    }


def build(env: dict, gpus: list[dict], extra: dict) -> dict:
    """The 35 fields from the detect-* outputs (env, gpus) and the machine facts in `extra`."""
    sockets = _int(env.get("CMX_CPU_SOCKETS"))
    cores = _int(env.get("CMX_CPU_PHYSICAL_CORES"))
    base, top = env.get("CMX_CPU_BASE_FREQUENCY_MHZ"), env.get("CMX_CPU_MAX_FREQUENCY_MHZ")
    freq = ", ".join(f"{label} {v} MHz" for label, v in (("base", base), ("max", top)) if v)
    memory = _int(env.get("CMX_MEMORY_TOTAL_BYTES"))
    os_name = env.get("CMX_HOST_OS_NAME")
    kernel = env.get("CMX_HOST_OS_KERNEL_VERSION")
    sw = extra.get("software") or {}
    packages = sw.get("packages") or {}
    frameworks = [f"{label} {packages[d]}" for d, label in FRAMEWORKS if packages.get(d)]
    stack = [f"Python {sw['python']}"] if sw.get("python") else []
    stack += [f"GCC {sw['gcc']}"] if sw.get("gcc") else []
    drivers = {(g["vendor"], g.get("driver_version"), g.get("cuda_version")) for g in gpus}
    for vendor, driver, cuda in sorted(drivers, key=str):
        stack += [f"{'NVIDIA' if vendor == 'nvidia' else 'AMD'} driver {driver}"] if driver else []
        stack += [f"CUDA {cuda}"] if cuda else []
    stack += [f"{label} {packages[d]}" for d, label in OTHER_PACKAGES if packages.get(d)]

    desc = {
        "division": NA, "submitter": NA, "status": NA, "system_type": NA, "system_type_detail": NA,
        "system_name": extra.get("system_name", NA),
        "number_of_nodes": 1,
        "host_processor_model_name": _or_na(env.get("CMX_CPU_MODEL")),
        "host_processors_per_node": _or_na(sockets),
        "host_processor_core_count": cores // sockets if cores and sockets else NA,
        "host_processor_frequency": _or_na(freq),
        "host_processor_caches": _or_na(env.get("CMX_CPU_CACHES")),
        "host_processor_interconnect": NA,
        "host_memory_capacity": format_bytes(memory) if memory else NA,
        "host_memory_configuration": NA,
        "host_storage_capacity": extra.get("storage", (NA, NA))[0],
        "host_storage_type": extra.get("storage", (NA, NA))[1],
        "host_networking": extra.get("network", (NA, 0))[0],
        "host_network_card_count": extra.get("network", (NA, 0))[1],
        "host_networking_topology": NA,
        **describe_gpus(gpus),
        "accelerator_interconnect": NA, "accelerator_interconnect_topology": NA,
        "accelerator_memory_configuration": NA, "accelerator_on-chip_memories": NA,
        "cooling": NA, "hw_notes": NA, "sw_notes": NA,
        "framework": ", ".join(frameworks) or NA,
        "operating_system": f"{os_name}, kernel {kernel}" if os_name and kernel else _or_na(os_name),
        "other_software_stack": ", ".join(stack) or NA,
    }
    return {k: str(desc[k]) for k in sorted(desc)}  # strings throughout: see MEANINGFUL_FIELDS


def validate(desc: dict) -> list[str]:
    """Problems the submission checker would report for this description (missing fields, invalid values)."""
    problems = [f"field {k} is missing" for k in REQUIRED_FIELDS if k not in desc]
    problems += [f"field {k} needs a meaningful value, got {desc[k]!r}" for k in MEANINGFUL_FIELDS
                 if k in desc and not desc[k]]
    for key, allowed in ALLOWED.items():
        value = str(desc.get(key, NA))
        compared = value if key == "system_type" else value.lower()  # the checker lower-cases the others only
        if value != NA and compared not in allowed:
            problems.append(f"{key} is {value!r}; the checker accepts {', '.join(sorted(allowed))}")
    return problems


def na_fields(desc: dict) -> list[str]:
    return [k for k in REQUIRED_FIELDS if desc.get(k) == NA]
