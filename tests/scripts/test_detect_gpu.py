"""detect-gpu on a machine with no GPU, and its parsers on captured real tool output.

This machine has no GPU, no nvidia-smi and no rocm-smi. The parsers are checked on
outputs captured on real machines and kept in tests/scripts/data/ (data/README.md
names the repository, path and licence of each). The end-to-end tests put a small
`nvidia-smi` first on PATH that prints one of those captures for `-q -x` and
refuses every other command line, so the recipe runs exactly as on a GPU host.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.scripts.captured_tools import DATA, load_module, path_with, replay_tool

RECIPE = Path(__file__).resolve().parents[2] / "scripts" / "detect-gpu"


@pytest.fixture(scope="module")
def parse():
    return load_module(RECIPE / "gpu_parse.py", "gpu_parse_under_test")


# -- this machine -------------------------------------------------------------------------------

def test_no_gpu_is_an_empty_list_and_exit_0(cmx):
    if shutil.which("nvidia-smi") or shutil.which("rocm-smi"):
        pytest.skip("this machine has a GPU tool; the empty answer is tested on GPU-less hosts")
    res = cmx("run", "script", "--tags=detect,gpu", "-j")
    assert res.code == 0, res.err
    env, state = res.json["new_env"], res.json["new_state"]
    assert state == {"gpus": []}
    assert env["CMX_GPU_COUNT"] == "0" and env["CMX_GPU_SOURCE"] == "none"
    assert env["CMX_GPU_NAME"] == env["CMX_GPU_VENDOR"] == ""
    assert "nvidia-smi not on PATH" in env["CMX_GPU_PROBES"] and "rocm-smi not on PATH" in env["CMX_GPU_PROBES"]


def test_declared_meta_tests_pass(cmx):
    res = cmx("test", "script", "detect-gpu")
    assert res.code == 0, res.out + res.err


# -- captured nvidia-smi -q -x ------------------------------------------------------------------

NVIDIA = {
    # file: (devices, name, memory MiB, driver, CUDA, power limit W, max graphics clock MHz, PCIe, architecture)
    "nvidia-smi_a100-sxm4-v12.xml": (1, "NVIDIA A100-SXM4-80GB", 81920, "535.54.03", "12.2", 500.0, 1410, "PCIe Gen4 x16", "Ampere"),
    "nvidia-smi_tesla-t4.xml": (1, "Tesla T4", 15360, "515.105.01", "11.7", 70.0, 1590, "PCIe Gen3 x16", "Turing"),
    "nvidia-smi_rtx-4000-sff-ada-v13.xml": (1, "NVIDIA RTX 4000 SFF Ada Generation", 20475, "595.84", "13.2", 70.0, 3105,
                                            "PCIe Gen4 x16", "Ada Lovelace"),
    "nvidia-smi_dual_a5000-v13.xml": (2, "NVIDIA RTX A5000", 24564, "590.44.01", "13.1", 230.0, 2100, "PCIe Gen4 x16", "Ampere"),
    # trimmed by its contributor to a few fields: whatever is absent must come back as None, not guessed
    "nvidia-smi_gtx-1070-ti.xml": (1, "GeForce GTX 1070 Ti", 4096, None, None, None, None, None, None),
}


@pytest.mark.parametrize("capture", sorted(NVIDIA))
def test_parse_captured_nvidia_smi_xml(parse, capture):
    """Captured `nvidia-smi -q -x` (DTD v10 to v13) from telegraf's test data."""
    count, name, mib, driver, cuda, power, clock, pcie, arch = NVIDIA[capture]
    gpus = parse.parse_nvidia_smi_xml((DATA / capture).read_text())
    assert len(gpus) == count
    for index, gpu in enumerate(gpus):
        assert gpu["index"] == index and gpu["vendor"] == "nvidia" and gpu["source"] == "nvidia-smi"
        assert (gpu["name"], gpu["memory_mib"], gpu["driver_version"], gpu["cuda_version"]) == (name, mib, driver, cuda)
        assert (gpu["power_limit_w"], gpu["max_graphics_clock_mhz"], gpu["pcie"], gpu["architecture"]) == (power, clock, pcie, arch)
        assert gpu["memory_bytes"] == mib * 2**20
        assert gpu["compute_capability"] is None  # not in -q -x; asked separately with --query-gpu=compute_cap
        assert set(gpu) == set(parse.FIELDS)


def test_a100_with_mig_reports_the_whole_gpu_memory(parse):
    """The A100 capture lists MIG instances (19968 MiB each) before the GPU's own 81920 MiB."""
    text = (DATA / "nvidia-smi_a100-sxm4-v12.xml").read_text()
    assert "<total>19968 MiB</total>" in text
    assert parse.parse_nvidia_smi_xml(text)[0]["memory_mib"] == 81920


def test_not_nvidia_smi_xml_is_a_value_error(parse):
    with pytest.raises(ValueError):
        parse.parse_nvidia_smi_xml("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    with pytest.raises(ValueError):
        parse.parse_nvidia_smi_xml("<other/>")


def test_compute_cap_query_output(parse):
    assert parse.parse_nvidia_compute_caps("8.0\n8.6\n") == ["8.0", "8.6"]
    assert parse.parse_nvidia_compute_caps("[N/A]\n") == [None]


# -- captured rocm-smi --json -------------------------------------------------------------------

AMD = {
    # file: (devices, name, VRAM bytes, driver, power limit W, gfx version, PCIe)
    "rocm-smi_mi100_rocm602.json": (4, "Arcturus GL-XL [Instinct MI100]", 34342961152, "6.3.6", 290.0, None, "PCIe Gen4 x16"),
    "rocm-smi_rx6700xt_rocm612.json": (1, "Navi 22 [Radeon RX 6700/6700 XT / 6800M]", 12868124672, "6.3.6", 211.0, "gfx1031",
                                       "PCIe Gen4 x16"),
    # ROCm 4.3 printed the PCI vendor id as the card series: the SKU is the only name it gives
    "rocm-smi_rx6700xt_rocm430.json": (1, "67XA6S", 12868124672, "6.3.6", 211.0, None, "PCIe Gen4 x16"),
    # no card series at all
    "rocm-smi_vega-10-XT.json": (1, "D05101", 17163091968, "5.9.25", 170.0, None, "PCIe Gen3 x16"),
}


@pytest.mark.parametrize("capture", sorted(AMD))
def test_parse_captured_rocm_smi_json(parse, capture):
    """Captured `rocm-smi ... --showproductname --showmeminfo all --showdriverversion --json` from telegraf's test data."""
    count, name, vram, driver, power, gfx, pcie = AMD[capture]
    gpus = parse.parse_rocm_smi_json((DATA / capture).read_text())
    assert [g["index"] for g in gpus] == list(range(count))
    for gpu in gpus:
        assert (gpu["vendor"], gpu["name"], gpu["memory_bytes"], gpu["driver_version"]) == ("amd", name, vram, driver)
        assert (gpu["power_limit_w"], gpu["compute_capability"], gpu["pcie"]) == (power, gfx, pcie)
        assert gpu["memory_mib"] == vram // 2**20


def test_rocm_smi_warning_before_the_json_is_skipped(parse):
    """rocm-smi prints 'WARNING: ...' lines before the JSON when a device is in a low-power state."""
    text = "WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status\n\n" + \
        (DATA / "rocm-smi_rx6700xt_rocm612.json").read_text()
    assert len(parse.parse_rocm_smi_json(text)) == 1


def test_summary_env_is_device_0(parse):
    gpus = parse.parse_nvidia_smi_xml((DATA / "nvidia-smi_dual_a5000-v13.xml").read_text())
    env = parse.summary_env(gpus)
    assert env["CMX_GPU_COUNT"] == "2" and env["CMX_GPU_NAME"] == "NVIDIA RTX A5000"
    assert env["CMX_GPU_MEMORY_MIB"] == "24564" and env["CMX_GPU_POWER_LIMIT_W"] == "230"
    assert parse.summary_env([])["CMX_GPU_COUNT"] == "0"


# -- the recipe end to end on captured output ---------------------------------------------------

def test_recipe_on_captured_dual_a5000(cmx, tmp_path):
    """The recipe runs a `nvidia-smi` that prints the captured dual RTX A5000 XML for -q -x and refuses
    the compute_cap query, as a driver older than 510 does: compute capability stays unknown."""
    replay_tool(tmp_path / "bin", "nvidia-smi", "-q -x", DATA / "nvidia-smi_dual_a5000-v13.xml")
    res = cmx("run", "script", "--tags=detect,gpu", "-j", env=path_with(tmp_path / "bin"))
    assert res.code == 0, res.err
    env, gpus = res.json["new_env"], res.json["new_state"]["gpus"]
    assert env["CMX_GPU_COUNT"] == "2" and env["CMX_GPU_VENDOR"] == "nvidia" and env["CMX_GPU_SOURCE"] == "nvidia-smi"
    assert env["CMX_GPU_NAME"] == "NVIDIA RTX A5000" and env["CMX_GPU_DRIVER_VERSION"] == "590.44.01"
    assert env["CMX_GPU_CUDA_VERSION"] == "13.1" and env["CMX_GPU_COMPUTE_CAPABILITY"] == ""
    assert [g["pci_bus_id"] for g in gpus] == ["00000000:81:00.0", "00000000:C1:00.0"]


def test_recipe_on_captured_rocm_smi(cmx, tmp_path):
    replay_tool(tmp_path / "bin", "rocm-smi", "--json", DATA / "rocm-smi_mi100_rocm602.json")
    res = cmx("run", "script", "--tags=detect,gpu", "-j", env=path_with(tmp_path / "bin"))
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert (env["CMX_GPU_COUNT"], env["CMX_GPU_VENDOR"], env["CMX_GPU_SOURCE"]) == ("4", "amd", "rocm-smi")


def test_nvidia_smi_without_a_driver_is_reported_not_fatal(cmx, tmp_path):
    """nvidia-smi installed but no driver loaded: it prints this message and exits 9."""
    message = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
               "Make sure that the latest NVIDIA driver is installed and running.")
    replay_tool(tmp_path / "bin", "nvidia-smi", "-q", None, exit_code=9, message=message)
    res = cmx("run", "script", "--tags=detect,gpu", "-j", env=path_with(tmp_path / "bin"))
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_GPU_COUNT"] == "0"
    assert "exited 9" in env["CMX_GPU_PROBES"] and "couldn't communicate" in env["CMX_GPU_PROBES"]


# -- dependents branch on it --------------------------------------------------------------------

BRANCHING = {
    "gpu-step": "tags: [demo, gpu-step]\n",
    "nvidia-step": "tags: [demo, nvidia-step]\n",
    "cpu-step": "tags: [demo, cpu-step]\n",
}


def _branching_repo(repo):
    for alias, meta in BRANCHING.items():
        repo.add(alias, meta, f'echo {alias} >> "$MARK_FILE"\n')
    repo.add("bench", """
        tags: [bench]
        deps:
          - tags: detect,gpu
          - tags: demo,gpu-step
            skip_if_env: {CMX_GPU_COUNT: ["0"]}
          - tags: demo,nvidia-step
            enable_if_env: {CMX_GPU_VENDOR: [nvidia]}
          - tags: demo,cpu-step
            enable_if_env: {CMX_GPU_COUNT: ["0"]}
        """, "true\n")


def test_dependents_branch_on_the_gpu_count(repo, cmx, home, tmp_path):
    """skip_if_env/enable_if_env on CMX_GPU_*: the planner defers them (detect-gpu exports the keys),
    and they are decided on what detect-gpu found. With the captured A5000 output on PATH the GPU
    steps run; without any GPU tool only the CPU step runs."""
    _branching_repo(repo)
    plan = cmx("run", "script", "--tags=bench", "--dry-run", "-j").json["plan"]
    bench = next(n for n in plan if n["recipe"] == "bench")
    assert [d.get("if") for d in bench["deps"]] == [  # deferred to run time, and shown in the plan
        None, {"skip_if_env": {"CMX_GPU_COUNT": ["0"]}}, {"enable_if_env": {"CMX_GPU_VENDOR": ["nvidia"]}},
        {"enable_if_env": {"CMX_GPU_COUNT": ["0"]}}]

    marks = tmp_path / "marks-none"
    res = cmx("run", "script", "--tags=bench", f"--env.MARK_FILE={marks}", "-j")
    assert res.code == 0, res.err
    if not (shutil.which("nvidia-smi") or shutil.which("rocm-smi")):
        assert marks.read_text().split() == ["cpu-step"]

    # the same request on a "GPU host": a fresh cache, so detect-gpu probes again
    replay_tool(tmp_path / "bin", "nvidia-smi", "-q -x", DATA / "nvidia-smi_dual_a5000-v13.xml")
    cmx("rm", "cache", "--tags=detect,gpu", "-f")
    marks = tmp_path / "marks-gpu"
    res = cmx("run", "script", "--tags=bench", f"--env.MARK_FILE={marks}", "-j", env=path_with(tmp_path / "bin"))
    assert res.code == 0, res.err
    assert sorted(marks.read_text().split()) == ["gpu-step", "nvidia-step"]


# -- the torch fallback -------------------------------------------------------------------------

TORCH_WHEELS = sorted(Path("/opt/wheels").glob("torch-*-cp311-*.whl")) if Path("/opt/wheels").is_dir() else []


@pytest.mark.slow
@pytest.mark.skipif(not TORCH_WHEELS or sys.version_info[:2] != (3, 11), reason="no torch wheel for this Python on disk")
def test_torch_fallback_in_the_target_interpreter(cmx, tmp_path):
    """A real torch (the CPU wheel this machine has on disk) in a separate venv, given with --python.
    With no vendor tool, detect-gpu asks that torch, which sees no CUDA device: still 0 GPUs, and the
    probe note says torch was asked. typing_extensions and filelock come from cmx's own venv (.pth),
    so nothing is downloaded."""
    venv = tmp_path / "torch-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(TORCH_WHEELS[-1])], check=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "cmx-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    res = cmx("run", "script", "--tags=detect,gpu", f"--python={py}", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert "torch: 0 device(s)" in env["CMX_GPU_PROBES"]
    assert env["CMX_GPU_COUNT"] == "0" and res.json["new_state"]["gpus"] == []
