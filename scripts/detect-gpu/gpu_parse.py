"""Turn GPU tool output into device dicts. Pure functions: text in, list of dicts out.

Each device dict has the same keys, with None where the source does not say:
index, vendor, name, memory_bytes, memory_mib, driver_version, cuda_version,
compute_capability, power_limit_w, max_graphics_clock_mhz, pcie, architecture,
uuid, pci_bus_id, source.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

FIELDS = ("index", "vendor", "name", "memory_bytes", "memory_mib", "driver_version", "cuda_version",
          "compute_capability", "power_limit_w", "max_graphics_clock_mhz", "pcie", "architecture",
          "uuid", "pci_bus_id", "source")

# PCIe transfer rate per lane -> generation (rocm-smi reports the rate, nvidia-smi the generation)
_GTS_TO_GEN = {"2.5": 1, "5.0": 2, "8.0": 3, "16.0": 4, "32.0": 5, "64.0": 6}


def device(**values) -> dict:
    return {key: values.get(key) for key in FIELDS}


def _number(text) -> float | None:
    """'500.00 W' -> 500.0, '24564 MiB' -> 24564.0; 'N/A', '[N/A]', '', None -> None."""
    m = re.match(r"\s*(-?[\d.]+)", str(text or ""))
    return float(m.group(1)) if m else None


def _known(text) -> str | None:
    """A string value, or None for the placeholders tools print when they do not know."""
    text = (text or "").strip()
    if not text or text.upper() in ("N/A", "[N/A]", "UNKNOWN", "NOT SUPPORTED", "[NOT SUPPORTED]") \
            or "deprecated" in text.lower():
        return None
    return text


# -- nvidia-smi -q -x ---------------------------------------------------------------------------

def _first(gpu: ET.Element, *paths: str) -> str | None:
    """Text of the first path (relative to the <gpu> element) that holds a known value."""
    for path in paths:
        node = gpu.find(path)
        if node is not None and _known(node.text):
            return node.text.strip()
    return None


def parse_nvidia_smi_xml(text: str) -> list[dict]:
    """`nvidia-smi -q -x` output (DTD versions 10 to 13) -> one dict per <gpu> element."""
    try:
        root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ET.ParseError as exc:  # a SyntaxError subclass; callers expect ValueError for bad input
        raise ValueError(f"not valid XML: {exc}") from None
    if root.tag != "nvidia_smi_log":
        raise ValueError(f"not nvidia-smi XML: the root element is <{root.tag}>")
    driver = _known(root.findtext("driver_version"))
    cuda = _known(root.findtext("cuda_version"))
    gpus = []
    for index, gpu in enumerate(root.findall("gpu")):
        memory_mib = _number(_first(gpu, "fb_memory_usage/total"))
        power = _number(_first(gpu,
                               "gpu_power_readings/current_power_limit",    # DTD v12+
                               "power_readings/enforced_power_limit",        # DTD v10/v11
                               "power_readings/power_limit",
                               "power_readings/current_power_limit"))
        gen = _first(gpu, "pci/pci_gpu_link_info/pcie_gen/max_link_gen")
        width = _first(gpu, "pci/pci_gpu_link_info/link_widths/max_link_width")
        clock = _number(_first(gpu, "max_clocks/graphics_clock"))
        gpus.append(device(
            index=index, vendor="nvidia", name=_first(gpu, "product_name"),
            memory_mib=int(memory_mib) if memory_mib is not None else None,
            memory_bytes=int(memory_mib * 1024 * 1024) if memory_mib is not None else None,
            driver_version=driver, cuda_version=cuda, power_limit_w=power,
            max_graphics_clock_mhz=int(clock) if clock is not None else None,
            pcie=f"PCIe Gen{gen} x{width.rstrip('x')}" if gen and width else None,
            architecture=_first(gpu, "product_architecture"), uuid=_first(gpu, "uuid"),
            pci_bus_id=gpu.get("id") or _first(gpu, "pci/pci_bus_id"), source="nvidia-smi",
        ))
    return gpus


def parse_nvidia_compute_caps(text: str) -> list[str | None]:
    """`nvidia-smi --query-gpu=compute_cap --format=csv,noheader` -> ['8.0', '8.6', ...]."""
    caps = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            caps.append(line if re.match(r"^\d+\.\d+$", line) else None)
    return caps


# -- rocm-smi --json ----------------------------------------------------------------------------

def _json_object(text: str) -> dict:
    """The JSON object in tool output, skipping warning lines that rocm-smi may print first."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the output")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    if not isinstance(obj, dict):
        raise ValueError("the JSON output is not an object")
    return obj


def _amd_name(card: dict) -> str | None:
    """The marketing name; older ROCm prints a PCI id (0x1002) as the series, then the SKU is all there is."""
    for key in ("device name", "card series", "marketing name", "card sku", "card model"):
        value = _known(card.get(key))
        if value and not re.match(r"^0x[0-9a-f]+$", value, re.I):
            return value
    return None


def parse_rocm_smi_json(text: str) -> list[dict]:
    """`rocm-smi --showproductname --showmeminfo vram [--showdriverversion --showmaxpower] --json`."""
    data = _json_object(text)
    lower = {k: {str(kk).lower(): vv for kk, vv in v.items()} for k, v in data.items() if isinstance(v, dict)}
    driver = _known((lower.get("system") or {}).get("driver version"))
    cards = sorted((k for k in lower if re.match(r"^card\d+$", k)), key=lambda k: int(k[4:]))
    gpus = []
    for index, key in enumerate(cards):
        card = lower[key]
        memory = _number(card.get("vram total memory (b)"))
        pcie = None
        m = re.search(r"([\d.]+)GT/s x(\d+)", str(card.get("pcie clock level") or ""))
        if m and m.group(1) in _GTS_TO_GEN:
            pcie = f"PCIe Gen{_GTS_TO_GEN[m.group(1)]} x{m.group(2)}"
        clock = re.search(r"-\s*(\d+)\s*Mhz", str(card.get("valid sclk range") or ""), re.I)
        gpus.append(device(
            index=index, vendor="amd", name=_amd_name(card),
            memory_bytes=int(memory) if memory is not None else None,
            memory_mib=int(memory) // (1024 * 1024) if memory is not None else None,
            driver_version=driver or _known(card.get("driver version")),
            compute_capability=_known(card.get("gfx version")),
            power_limit_w=_number(card.get("max graphics package power (w)")),
            max_graphics_clock_mhz=int(clock.group(1)) if clock else None, pcie=pcie,
            uuid=_known(card.get("unique id")), pci_bus_id=_known(card.get("pci bus")), source="rocm-smi",
        ))
    return gpus


# -- torch (the JSON printed by torch_probe.py) ---------------------------------------------------

def parse_torch_json(text: str) -> list[dict]:
    data = _json_object(text)
    vendor = "amd" if data.get("hip") else "nvidia"
    gpus = []
    for index, d in enumerate(data.get("devices") or []):
        memory = d.get("total_memory")
        gpus.append(device(
            index=index, vendor=vendor, name=d.get("name"),
            memory_bytes=memory, memory_mib=memory // (1024 * 1024) if memory else None,
            cuda_version=data.get("cuda"),
            compute_capability=d.get("gcn_arch") if data.get("hip") else f"{d.get('major')}.{d.get('minor')}",
            source="torch",
        ))
    return gpus


# -- summary -------------------------------------------------------------------------------------

def summary_env(gpus: list[dict]) -> dict[str, str]:
    """CMX_GPU_* env: the count, and the facts of device 0 ('' when unknown or when there is none)."""
    first = gpus[0] if gpus else {}

    def text(key: str) -> str:
        value = first.get(key)
        if value is None:
            return ""
        return f"{value:g}" if isinstance(value, float) else str(value)

    return {
        "CMX_GPU_COUNT": str(len(gpus)),
        "CMX_GPU_VENDOR": text("vendor"),
        "CMX_GPU_NAME": text("name"),
        "CMX_GPU_MEMORY_MIB": text("memory_mib"),
        "CMX_GPU_DRIVER_VERSION": text("driver_version"),
        "CMX_GPU_CUDA_VERSION": text("cuda_version"),
        "CMX_GPU_COMPUTE_CAPABILITY": text("compute_capability"),
        "CMX_GPU_POWER_LIMIT_W": text("power_limit_w"),
        "CMX_GPU_NAMES": ",".join(sorted({g["name"] for g in gpus if g.get("name")})),
    }
