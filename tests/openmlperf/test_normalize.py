"""System descriptions to the published columns, with the published dataset's conventions."""

from __future__ import annotations

import pytest

from openmlperf import normalize


@pytest.mark.parametrize("raw,gb", [("1.5TiB", 1536.0), ("1 TB", 1024.0), ("2.3 TB", 2355.2), ("768 GB", 768.0),
                                    ("1024GB", 1024.0), ("96Gi", 96.0), ("1.5T", None), ("81559 MiB", None),
                                    ("Shared with host", None), ("N/A", None), ("", None)])
def test_memory_in_gb_as_published(raw, gb):
    assert normalize.memory_gb(raw) == gb


def test_framework_versions_are_pivoted_without_reading_build_tags():
    v = normalize.framework_versions("vLLM 0.4.3+rocm614, PyTorch 2.3.0, ROCm 6.1.2")
    assert (v["vllm"], v["pytorch"], v["rocm"], v["cuda"]) == ("0.4.3", "2.3.0", "6.1.2", None)
    v = normalize.framework_versions("Jetpack 6.0, TensorRT 10.1, CUDA 12.2")
    assert (v["jetpack"], v["tensorrt"], v["cuda"]) == ("6.0", "10.1", "12.2")


@pytest.mark.parametrize("raw,norm", [("6x 4th Gen NVLink, 900GB/s", "NVLink-4"), ("PCIe Gen5 x16", "PCIe-5"),
                                      ("XGMI", "XGMI"), ("N/A", None), ("NVLink", "NVLink")])
def test_interconnects(raw, norm):
    assert normalize.interconnect(raw) == norm


def test_cpu_only_system_has_no_accelerator_figures():
    row = normalize.system_columns({"number_of_nodes": "1", "accelerators_per_node": "0",
                                    "accelerator_model_name": "N/A", "accelerator_memory_capacity": "N/A",
                                    "host_processor_model_name": "INTEL(R) XEON(R) PLATINUM 8592+"})
    assert row["system.accelerator.total_count"] == 0 and row["system.accelerator.name"] is None
    assert row["system.cpu.vendor"] == "Intel" and normalize.per_unit(10.0, 0) is None
