"""From an MLPerf system description (``systems/<id>.json``) to the dataset's ``system.*``,
``software.*`` and ``model.*`` columns, with the published dataset's conventions:

- memory in GB, where ``TB``/``TiB`` count as 1024 GB and a bare ``1.5T`` or ``MiB`` figure is
  left unknown (as the published rows do); frequencies in GHz;
- vendors by keyword on the model name; interconnects normalised to ``NVLink-4``, ``PCIe-5``,
  ``XGMI``, ``InfiniBand``...;
- framework versions pivoted out of the framework string;
- ``N/A``, ``-`` and empty strings are null; counts are integers;
- on a CPU-only system (``accelerators_per_node`` 0) the accelerator fields are null or 0 and
  ``metrics.result_per_accelerator`` is null: nothing is invented and the row is kept.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_NA = {"", "n/a", "na", "-", "none", "null", "unknown", "tbd"}


def text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return None if s.lower() in _NA else s


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    s = text(value)
    if s is None:
        return None
    m = re.fullmatch(r"\s*(\d+)(?:\.0+)?\s*", s)
    return int(m.group(1)) if m else None


_MEM = re.compile(r"^\s*([\d.]+)\s*(TB|TiB|Ti|GB|GiB|Gi)\s*$", re.I)  # "96Gi": v5.1 HPE


def memory_gb(value: Any) -> float | None:
    s = text(value)
    if s is None:
        return None
    m = _MEM.match(s)
    if not m:
        return None
    try:
        n = float(m.group(1))
    except ValueError:
        return None
    return n * 1024 if m.group(2).lower().startswith("t") else n


def frequency_ghz(value: Any) -> float | None:
    s = text(value)
    if s is None:
        return None
    m = re.search(r"([\d.]+)\s*(GHz|MHz)?", s, re.I)
    if not m:
        return None
    try:
        n = float(m.group(1))
    except ValueError:
        return None
    unit = (m.group(2) or "").lower()
    return n / 1000 if unit == "mhz" else n


_VENDORS = (("NVIDIA", ("nvidia", "geforce", "jetson", "tesla", "grace")), ("AMD", ("amd", "epyc", "instinct", "radeon", "ryzen")),
            ("Intel", ("intel", "xeon", "gaudi", "habana")), ("Qualcomm", ("qualcomm", "cloud ai")),
            ("Google", ("tpu",)), ("ARM", ("arm ", "cortex", "neoverse")), ("Ampere", ("ampere altra",)),
            ("SiMa", ("sima",)), ("UntetherAI", ("untether", "speedai")), ("Furiosa", ("furiosa", "rngd")))


def vendor(name: Any) -> str | None:
    s = text(name)
    if s is None:
        return None
    low = " " + s.lower() + " "
    for v, keys in _VENDORS:
        if any(k in low for k in keys):
            return v
    return None


def interconnect(value: Any) -> str | None:
    s = text(value)
    if s is None:
        return None
    low = s.lower()
    if "nvlink" in low:
        m = re.search(r"(\d)(?:th|rd|nd|st)\s*gen", low) or re.search(r"nvlink[\s-]*(?:gen)?\s*(\d)", low)
        return f"NVLink-{m.group(1)}" if m else "NVLink"
    if "xgmi" in low or "infinity fabric" in low:
        return "XGMI"
    if "infiniband" in low or re.search(r"\bib\b", low):
        return "InfiniBand"
    if "pcie" in low or "pci-e" in low or "pci express" in low:
        m = re.search(r"gen\s*(\d)", low) or re.search(r"pcie\s*(\d)", low)
        return f"PCIe-{m.group(1)}" if m else "PCIe"
    return s


FRAMEWORKS = ("ai", "cuda", "cudnn", "jetpack", "pytorch", "rocm", "sima", "tensorrt", "vllm")
_FW_NAMES = {"ai": r"AI", "cuda": r"CUDA", "cudnn": r"cuDNN", "jetpack": r"Jetpack", "pytorch": r"PyTorch",
             "rocm": r"ROCm", "sima": r"SiMa(?:\.ai)?(?:\s*SDK)?", "tensorrt": r"TensorRT(?:-LLM)?", "vllm": r"vLLM"}


def framework_versions(fw: Any) -> dict[str, str | None]:
    s = text(fw) or ""
    out: dict[str, str | None] = {}
    for key, pat in _FW_NAMES.items():
        m = re.search(rf"(?<![A-Za-z+]){pat}[\s:_-]+v?(\d[\w.]*)", s, re.I if key != "ai" else 0)
        out[key] = m.group(1).split("+")[0].rstrip(".") if m else None
    return out


# Billions of parameters per benchmark family (the published dataset's table, extended).
_PARAMS = (("llama3.1-405b", 405.0), ("llama3_1-405b", 405.0), ("deepseek-r1", 671.0), ("deepseek-v3", 671.0),
           ("llama2-70b", 70.0), ("llama3_1-70b", 70.0), ("llama3.1-70b", 70.0), ("mixtral-8x7b", 47.0),
           ("llama3.1-8b", 8.0), ("llama3_1-8b", 8.0), ("gpt-oss-120b", 120.0), ("gptj", 6.0),
           ("qwen3-vl-235b", 235.0), ("stable-diffusion-xl", 3.5), ("bert", 0.34), ("resnet", 0.0256),
           ("retinanet", 0.0368), ("3d-unet", 0.019), ("rnnt", 0.049), ("whisper", 1.55))
_LLM = ("llama", "gptj", "gpt-j", "mixtral", "deepseek", "gpt-oss", "qwen", "mistral", "smollm", "falcon", "phi")


def parameters_billion(benchmark: str | None) -> float | None:
    b = (benchmark or "").lower()
    for key, n in _PARAMS:
        if b.startswith(key):
            return n
    return None


def architecture(benchmark: str | None) -> str:
    b = (benchmark or "").lower()
    return "LLM" if any(k in b for k in _LLM) else "Other"


def is_llm(benchmark: str | None) -> bool:
    return architecture(benchmark) == "LLM"


def dtype(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    s = text(value)
    if s is None:
        return None
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float8": "fp8"}.get(s.lower(), s)


def system_columns(desc: Mapping[str, Any]) -> dict[str, Any]:
    """The published ``system.*`` and ``software.*`` columns of a system description."""
    nodes = integer(desc.get("number_of_nodes"))
    per_node = integer(desc.get("accelerators_per_node"))
    total = nodes * per_node if nodes is not None and per_node is not None else None
    has_acc = bool(per_node)
    acc_name = text(desc.get("accelerator_model_name")) if has_acc else None
    cpu = text(desc.get("host_processor_model_name"))
    fw = text(desc.get("framework"))
    row: dict[str, Any] = {
        "system.name": text(desc.get("system_name")),
        "system.type": text(desc.get("system_type")),
        "system.number_of_nodes": nodes,
        "system.accelerator.count_per_node": per_node,
        "system.accelerator.total_count": total,
        "system.accelerator.name": acc_name,
        "system.accelerator.vendor": vendor(acc_name),
        "system.accelerator.memory_capacity": memory_gb(desc.get("accelerator_memory_capacity")) if has_acc else None,
        "system.accelerator.memory_config": text(desc.get("accelerator_memory_configuration")) if has_acc else None,
        "system.cpu.model": cpu,
        "system.cpu.vendor": vendor(cpu),
        "system.cpu.core_count": integer(desc.get("host_processor_core_count")),
        "system.cpu.count_per_node": integer(desc.get("host_processors_per_node")),
        "system.cpu.frequency": frequency_ghz(desc.get("host_processor_frequency")),
        "system.cpu.caches": text(desc.get("host_processor_caches")),
        "system.cpu.vcpu_count": text(desc.get("host_processor_vcpu_count")),
        "system.interconnect.accelerator": interconnect(desc.get("accelerator_interconnect")) if has_acc else None,
        "system.interconnect.accelerator_host": interconnect(desc.get("accelerator_host_interconnect")) if has_acc else None,
        "system.memory.capacity": memory_gb(desc.get("host_memory_capacity")),
        "system.memory.configuration": text(desc.get("host_memory_configuration")),
        "software.framework": fw,
        "software.operating_system": text(desc.get("operating_system")),
        "submission.availability": text(desc.get("status")),
    }
    for key, version in framework_versions(fw).items():
        row[f"software.framework.{key}"] = version
    return row


def per_unit(result: float | None, count: int | None) -> float | None:
    """``result / count``, or null when either is unknown or the count is 0 (no accelerator)."""
    if result is None or not count:
        return None
    return result / count
