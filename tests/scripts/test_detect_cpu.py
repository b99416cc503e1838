"""detect-cpu: run for real on this machine, and parse captured /proc/cpuinfo of multi-socket hosts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psutil
import pytest

from tests.scripts.captured_tools import DATA, load_module

RECIPE = Path(__file__).resolve().parents[2] / "scripts" / "detect-cpu"


@pytest.fixture(scope="module")
def facts():
    return load_module(RECIPE / "cpu_facts.py", "cpu_facts_under_test")


def _proc_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def test_counts_match_psutil_and_os(cmx):
    res = cmx("run", "script", "--tags=detect,cpu", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert int(env["CMX_CPU_PHYSICAL_CORES"]) == psutil.cpu_count(logical=False)
    assert int(env["CMX_CPU_THREADS"]) == os.cpu_count()
    assert int(env["CMX_CPU_SOCKETS"]) >= 1
    assert int(env["CMX_CPU_THREADS_PER_CORE"]) * int(env["CMX_CPU_PHYSICAL_CORES"]) == os.cpu_count()
    assert env["CMX_CPU_MODEL"] and env["CMX_CPU_VENDOR"] and env["CMX_CPU_ARCH"]
    assert int(env["CMX_CPU_NUMA_NODES"]) == len(list(Path("/sys/devices/system/node").glob("node[0-9]*")))


def test_flags_of_interest_come_from_the_cpu(cmx):
    env = cmx("run", "script", "--tags=detect,cpu", "-j").json["new_env"]
    exported = set(filter(None, env["CMX_CPU_FLAGS"].split(",")))
    real = _proc_flags()
    assert exported <= real
    assert exported == {f for f in real if f == "avx2" or f.startswith(("avx512", "amx", "sve")) or f in ("neon", "asimd")}
    assert env["CMX_CPU_HAS_AVX2"] == ("yes" if "avx2" in real else "no")
    assert env["CMX_CPU_HAS_AVX512"] == ("yes" if any(f.startswith("avx512") for f in real) else "no")
    assert env["CMX_CPU_HAS_AMX"] == ("yes" if any(f.startswith("amx") for f in real) else "no")


def test_caches_match_sysfs_and_lscpu(cmx, facts):
    env = cmx("run", "script", "--tags=detect,cpu", "-j").json["new_env"]
    sysfs = facts.sysfs_caches()
    if not sysfs:
        pytest.skip("no cache information in sysfs on this machine")
    for name, (total, _) in sysfs.items():
        assert env[f"CMX_CPU_{name.upper()}_CACHE_BYTES"] == str(total)
        assert f"{name} {facts.format_size(total)}" in env["CMX_CPU_CACHES"]
    if shutil.which("lscpu"):
        lscpu = facts.lscpu_caches(facts.run_lscpu())
        assert {k: v[0] for k, v in lscpu.items()} == {k: v[0] for k, v in sysfs.items()}


def test_second_run_is_served_from_the_probe_cache(cmx):
    first = cmx("run", "script", "--tags=detect,cpu", "-j").json
    second = cmx("run", "script", "--tags=detect,cpu", "-j").json
    assert second["cached"] is True and second["new_env"] == first["new_env"]


@pytest.mark.parametrize("capture, processors, sockets, cores", [
    ("proc_cpuinfo_hyperv_2socket_ryzen3_4100.txt", 8, 2, 4),
    ("proc_cpuinfo_vmware_8socket_xeon_gold_6326.txt", 8, 8, 8),
])
def test_captured_multi_socket_cpuinfo(facts, capture, processors, sockets, cores):
    """Captured /proc/cpuinfo of two VMs (from ollama's discover tests; see data/README.md):
    cores are distinct (physical id, core id) pairs, not 'cpu cores' times anything."""
    parsed = facts.parse_proc_cpuinfo((DATA / capture).read_text())
    assert (parsed["processors"], parsed["sockets"], parsed["cores"]) == (processors, sockets, cores)
    assert parsed["model"] and parsed["vendor"] in ("GenuineIntel", "AuthenticAMD")


def test_lscpu_json_of_this_machine(facts):
    if not shutil.which("lscpu"):
        pytest.skip("lscpu is not installed")
    fields = facts.run_lscpu()
    assert int(fields["CPU(s)"]) == os.cpu_count()
    assert fields["Architecture"]


@pytest.mark.parametrize("text, size", [
    ("96 KiB (2 instances)", 96 * 1024), ("32K", 32 * 1024), ("1.5 MiB", 1536 * 1024), ("32 MiB (1 instance)", 32 << 20),
    ("1024K", 1 << 20), ("", None), ("-", None),
])
def test_parse_size(facts, text, size):
    assert facts.parse_size(text) == size


def test_declared_meta_tests_pass(cmx):
    res = cmx("test", "script", "detect-cpu")
    assert res.code == 0, res.out + res.err
