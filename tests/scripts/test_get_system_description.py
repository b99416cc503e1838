"""get-system-description: the MLPerf inference system description of this machine.

The field lists are checked against the submission checker's own constants, kept
verbatim in data/mlperf_inference_system_desc_fields.py.txt, and the validation
against a real accepted description (data/mlperf_systems_8xMI300X_2xEPYC_9575F.json).
The accelerator fields are checked with captured `nvidia-smi -q -x` output of an
A100 host replayed by a small nvidia-smi on PATH (see data/README.md).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import psutil
import pytest

from tests.scripts.captured_tools import DATA, load_module, path_with, replay_tool

RECIPE = Path(__file__).resolve().parents[2] / "scripts" / "get-system-description"


def _checker_list(name: str) -> list[str]:
    text = (DATA / "mlperf_inference_system_desc_fields.py.txt").read_text()
    m = re.search(rf"^{name} = (\[.*?^\])", text, re.S | re.M)
    return ast.literal_eval(m.group(1))


@pytest.fixture(scope="module")
def sd():
    return load_module(RECIPE / "sysdesc.py", "sysdesc_under_test")


def _run(cmx, *args, **kw):
    res = cmx("run", "script", "--tags=get,system-description", "-j", *args, **kw)
    assert res.code == 0, res.err
    return res.json


def test_field_lists_are_the_checkers(sd):
    required = _checker_list("SYSTEM_DESC_REQUIRED_FIELDS")
    assert len(required) == 35
    assert sd.REQUIRED_FIELDS == required
    assert sd.MEANINGFUL_FIELDS == _checker_list("SYSTEM_DESC_MEANINGFUL_RESPONSE_REQUIRED_FIELDS")


def test_description_has_every_required_field_and_is_in_the_output(cmx):
    out = _run(cmx)
    desc = out["new_state"]["system_description"]
    assert set(_checker_list("SYSTEM_DESC_REQUIRED_FIELDS")) <= set(desc)
    assert all(isinstance(v, str) and v for v in desc.values())
    assert out["new_env"]["CMX_SYSTEM_DESCRIPTION_FIELDS"] == "35"
    on_disk = Path(out["new_env"]["CMX_SYSTEM_DESCRIPTION_FILE"])
    assert on_disk.parent == Path(out["cache_path"])
    assert json.loads(on_disk.read_text()) == desc
    na = out["new_env"]["CMX_SYSTEM_DESCRIPTION_NA_FIELDS"].split(",")
    assert na == [k for k in _checker_list("SYSTEM_DESC_REQUIRED_FIELDS") if desc[k] == "N/A"]


def test_detected_values_are_this_machines(cmx):
    out = _run(cmx)
    desc = out["new_state"]["system_description"]
    plan = {n["recipe"] for n in out["plan"]}
    assert {"detect-os", "detect-cpu", "detect-memory", "detect-gpu"} <= plan
    sockets = int(desc["host_processors_per_node"])
    assert sockets * int(desc["host_processor_core_count"]) == psutil.cpu_count(logical=False)
    assert desc["host_memory_capacity"] == f"{psutil.virtual_memory().total / 2**30:.1f} GiB".replace(".0 ", " ")
    assert desc["number_of_nodes"] == "1"
    os_release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    assert desc["operating_system"].startswith(os_release["PRETTY_NAME"].strip('"'))
    assert desc["host_processor_model_name"] != "N/A"


def test_fields_nobody_can_detect_are_na_not_invented(cmx):
    desc = _run(cmx)["new_state"]["system_description"]
    for field in ("division", "submitter", "status", "system_type", "system_type_detail", "cooling",
                  "host_memory_configuration", "host_processor_interconnect", "host_networking_topology",
                  "accelerator_interconnect", "accelerator_interconnect_topology", "accelerator_memory_configuration",
                  "accelerator_on-chip_memories", "hw_notes", "sw_notes"):
        assert desc[field] == "N/A", field


def test_no_gpu_means_zero_accelerators_as_a_string(cmx):
    if shutil.which("nvidia-smi") or shutil.which("rocm-smi"):
        pytest.skip("this machine has a GPU tool")
    desc = _run(cmx)["new_state"]["system_description"]
    assert desc["accelerators_per_node"] == "0"  # a numeric 0 fails the checker's meaningful-response check
    assert desc["accelerator_model_name"] == desc["accelerator_memory_capacity"] == "N/A"


def test_accelerator_fields_from_captured_a100(cmx, tmp_path):
    """Captured `nvidia-smi -q -x` of an A100-SXM4-80GB host (telegraf test data), replayed on PATH."""
    replay_tool(tmp_path / "bin", "nvidia-smi", "-q -x", DATA / "nvidia-smi_a100-sxm4-v12.xml")
    desc = _run(cmx, env=path_with(tmp_path / "bin"))["new_state"]["system_description"]
    assert desc["accelerators_per_node"] == "1"
    assert desc["accelerator_model_name"] == "NVIDIA A100-SXM4-80GB"
    assert desc["accelerator_memory_capacity"] == "80 GiB"
    assert desc["accelerator_frequency"] == "1410 MHz"
    assert desc["accelerator_host_interconnect"] == "PCIe Gen4 x16"
    assert "NVIDIA driver 535.54.03" in desc["other_software_stack"] and "CUDA 12.2" in desc["other_software_stack"]


def test_inputs_and_fields_file_override_and_pass_validation(cmx, tmp_path):
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps({"cooling": "air", "host_memory_configuration": "12x 2GB", "hw_notes": "",
                                  "power_management": "none"}))
    out = _run(cmx, "--division=closed", "--submitter=cmx", "--status=available", "--system_type=datacenter",
               f"--fields={fields}")
    desc = out["new_state"]["system_description"]
    assert (desc["division"], desc["submitter"], desc["status"], desc["system_type"]) == (
        "closed", "cmx", "available", "datacenter")
    assert desc["cooling"] == "air" and desc["host_memory_configuration"] == "12x 2GB"
    assert desc["hw_notes"] == "" and desc["power_management"] == "none"  # allowed: not a meaningful-response field
    na = out["new_env"]["CMX_SYSTEM_DESCRIPTION_NA_FIELDS"].split(",")
    assert not {"division", "submitter", "status", "system_type", "cooling"} & set(na)


@pytest.mark.parametrize("args, message", [
    (["--status=bogus"], "status is 'bogus'; the checker accepts available, preview, rdi"),
    (["--system_type=Datacenter"], "system_type is 'Datacenter'"),
    (["--division=closed-ish"], "division is 'closed-ish'"),
])
def test_values_the_checker_rejects_fail_the_run(cmx, args, message):
    res = cmx("run", "script", "--tags=get,system-description", *args)
    assert res.code == 1
    assert "would fail the MLPerf submission checker" in res.err and message in res.err


def test_fields_file_that_empties_a_meaningful_field_fails(cmx, tmp_path):
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps({"framework": ""}))
    res = cmx("run", "script", "--tags=get,system-description", f"--fields={fields}")
    assert res.code == 1 and "field framework needs a meaningful value" in res.err


def test_unreadable_fields_file_is_a_clear_error(cmx, tmp_path):
    res = cmx("run", "script", "--tags=get,system-description", f"--fields={tmp_path / 'missing.json'}")
    assert res.code == 1 and "cannot read --fields file" in res.err and "Traceback" not in res.err


def test_validate_matches_the_checker_on_a_real_description(sd):
    """A description from mlcommons/inference's sample submission passes; removing a field fails."""
    real = json.loads((DATA / "mlperf_systems_8xMI300X_2xEPYC_9575F.json").read_text())
    assert sd.validate(real) == []
    del real["cooling"]
    real["accelerators_per_node"] = 0
    assert sd.validate(real) == ["field cooling is missing", "field accelerators_per_node needs a meaningful value, got 0"]


def test_storage_and_network_from_sysfs(sd):
    capacity, kind = sd.storage()
    disks = [d for d in Path("/sys/block").iterdir() if (d / "device").exists() and (d / "removable").read_text().strip() == "0"]
    if not disks:
        assert (capacity, kind) == ("N/A", "N/A")
    else:
        total = sum(int((d / "size").read_text()) * 512 for d in disks)
        assert capacity == sd.format_bytes(total)
    networking, count = sd.networking()
    ports = [d for d in Path("/sys/class/net").iterdir() if (d / "device").exists()]
    assert count == len(ports) and all(p.name in networking for p in ports)


def test_declared_meta_tests_pass(cmx):
    res = cmx("test", "script", "get-system-description")
    assert res.code == 0, res.out + res.err
