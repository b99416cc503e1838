"""CPU facts from /proc/cpuinfo, sysfs, `lscpu -J` and py-cpuinfo.

The parse_* functions take text and return plain dicts, so tests can feed them
captured output. collect() reads this machine and returns the env to export.
Every source is optional: a value no source provides is an empty string.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

SYS_CPU = "/sys/devices/system/cpu"
SYS_NODE = "/sys/devices/system/node"

# AVX2, AVX-512*, AMX*, NEON (AArch64 calls it "asimd"), SVE*
_INTERESTING = re.compile(r"^(avx2|avx512.*|amx.*|neon|asimd|sve.*)$")
_CACHE_NAMES = {"L1d": (1, "Data"), "L1i": (1, "Instruction"), "L2": (2, "Unified"), "L3": (3, "Unified")}
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """'96 KiB (2 instances)', '32K', '1.5 MiB', '2048' -> bytes."""
    m = re.match(r"\s*([\d.]+)\s*([KMGT]?)i?B?\b", text or "", re.I)
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def format_size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} B"


def parse_lscpu_json(text: str) -> dict[str, str]:
    """`lscpu -J` -> {'Model name': 'AMD EPYC', ...}; handles the nested 'children' form of util-linux >= 2.39."""
    fields: dict[str, str] = {}

    def walk(items: list) -> None:
        for item in items or []:
            name = str(item.get("field", "")).strip().rstrip(":")
            if name and item.get("data") is not None:
                fields.setdefault(name, str(item["data"]).strip())
            walk(item.get("children") or [])

    walk(json.loads(text).get("lscpu") or [])
    return fields


def parse_proc_cpuinfo(text: str) -> dict:
    """/proc/cpuinfo -> processors, sockets, cores (unique physical id/core id pairs), model, vendor, flags, mhz."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    procs = []
    for block in blocks:
        entry = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                entry[key.strip().lower()] = value.strip()
        if "processor" in entry and entry["processor"].isdigit():
            procs.append(entry)
    first = procs[0] if procs else {}
    pairs = {(p.get("physical id"), p.get("core id")) for p in procs if "physical id" in p and "core id" in p}
    sockets = {p["physical id"] for p in procs if "physical id" in p}
    flags = (first.get("flags") or first.get("features") or "").split()
    return {
        "processors": len(procs),
        "sockets": len(sockets) or None,
        "cores": len(pairs) or None,
        "model": first.get("model name") or "",
        "vendor": first.get("vendor_id") or "",
        "flags": flags,
        "mhz": first.get("cpu mhz") or "",
    }


def sysfs_caches(root: str = SYS_CPU) -> dict[str, tuple[int, int]]:
    """{'L1d': (total bytes, instances), ...} counting each cache once per distinct set of CPUs sharing it."""
    seen: dict[str, dict[str, int]] = {}
    for index in glob.glob(os.path.join(root, "cpu[0-9]*", "cache", "index[0-9]*")):
        try:
            level = int(Path(index, "level").read_text())
            kind = Path(index, "type").read_text().strip()
            size = parse_size(Path(index, "size").read_text())
            shared = Path(index, "shared_cpu_list").read_text().strip()
        except (OSError, ValueError):
            continue
        for name, (lvl, typ) in _CACHE_NAMES.items():
            if level == lvl and kind == typ and size:
                seen.setdefault(name, {})[shared] = size
    return {name: (sum(v.values()), len(v)) for name, v in seen.items()}


def lscpu_caches(fields: dict[str, str]) -> dict[str, tuple[int, int]]:
    """From 'L1d cache: 96 KiB (2 instances)'. An old lscpu without '(N instances)' gives one instance's size."""
    out = {}
    for name in _CACHE_NAMES:
        text = fields.get(f"{name} cache", "")
        size = parse_size(text)
        if size:
            m = re.search(r"\((\d+) instances?\)", text)
            out[name] = (size, int(m.group(1)) if m else 1)
    return out


def describe_caches(caches: dict[str, tuple[int, int]]) -> str:
    """'L1d 96 KiB (2 instances), ..., L3 32 MiB (1 instance)'"""
    parts = []
    for name in _CACHE_NAMES:
        if name in caches:
            total, n = caches[name]
            parts.append(f"{name} {format_size(total)} ({n} instance{'' if n == 1 else 's'})")
    return ", ".join(parts)


def interesting_flags(flags: list[str]) -> list[str]:
    return sorted({f.lower() for f in flags if _INTERESTING.match(f.lower())})


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _khz_to_mhz(text: str) -> str:
    return str(round(int(text) / 1000)) if text.strip().isdigit() else ""


def _number(text: str) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def run_lscpu() -> dict[str, str]:
    exe = shutil.which("lscpu")
    if not exe:
        return {}
    env = dict(os.environ, LC_ALL="C")
    try:
        out = subprocess.run([exe, "-J"], capture_output=True, text=True, env=env, timeout=60,
                             stdin=subprocess.DEVNULL)
        if out.returncode == 0 and out.stdout.strip():
            return parse_lscpu_json(out.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    return {}


def py_cpuinfo() -> dict:
    try:
        import cpuinfo

        return cpuinfo.get_cpu_info() or {}
    except Exception:  # py-cpuinfo can fail on unusual CPUs; the other sources still answer
        return {}


def collect() -> dict[str, str]:
    proc = parse_proc_cpuinfo(_read("/proc/cpuinfo"))
    ls = run_lscpu()
    pc = py_cpuinfo()
    sources = [s for s, ok in (("/proc/cpuinfo", proc["processors"]), ("lscpu", ls), ("py-cpuinfo", pc)) if ok]

    sockets = proc["sockets"] or _number(ls.get("Socket(s)", ""))
    per_socket = _number(ls.get("Core(s) per socket", "")) or _number(ls.get("Core(s) per cluster", ""))
    cores = proc["cores"] or (sockets * per_socket if sockets and per_socket else None)
    if cores is None:
        import psutil

        cores = psutil.cpu_count(logical=False)
    threads = proc["processors"] or os.cpu_count() or 0

    caches = sysfs_caches() or lscpu_caches(ls)
    flags = interesting_flags(proc["flags"] or ls.get("Flags", "").split() or pc.get("flags") or [])

    base = _khz_to_mhz(_read(f"{SYS_CPU}/cpu0/cpufreq/base_frequency"))
    if not base and (pc.get("hz_advertised") or [0])[0]:
        base = str(round(pc["hz_advertised"][0] / 1e6))
    max_mhz = ls.get("CPU max MHz", "")
    max_mhz = str(round(float(max_mhz))) if re.match(r"^[\d.]+$", max_mhz) else ""
    max_mhz = max_mhz or _khz_to_mhz(_read(f"{SYS_CPU}/cpu0/cpufreq/cpuinfo_max_freq"))

    numa = _number(ls.get("NUMA node(s)", "")) or len(glob.glob(f"{SYS_NODE}/node[0-9]*")) or None

    env = {
        "CMX_CPU_MODEL": proc["model"] or ls.get("Model name", "") or pc.get("brand_raw", ""),
        "CMX_CPU_VENDOR": proc["vendor"] or ls.get("Vendor ID", "") or pc.get("vendor_id_raw", ""),
        "CMX_CPU_ARCH": platform.machine() or ls.get("Architecture", ""),
        "CMX_CPU_SOCKETS": str(sockets or ""),
        "CMX_CPU_PHYSICAL_CORES": str(cores or ""),
        "CMX_CPU_THREADS": str(threads or ""),
        "CMX_CPU_THREADS_PER_CORE": str(threads // cores) if cores and threads else "",
        "CMX_CPU_BASE_FREQUENCY_MHZ": base,
        "CMX_CPU_MAX_FREQUENCY_MHZ": max_mhz,
        "CMX_CPU_NUMA_NODES": str(numa or ""),
        "CMX_CPU_FLAGS": ",".join(flags),
        "CMX_CPU_CACHES": describe_caches(caches),
        "CMX_CPU_SOURCES": ",".join(sources),
    }
    for name in _CACHE_NAMES:
        env[f"CMX_CPU_{name.upper()}_CACHE_BYTES"] = str(caches[name][0]) if name in caches else ""
    for label, pattern in (("AVX2", "avx2"), ("AVX512", "avx512"), ("AMX", "amx"), ("NEON", "neon|asimd"),
                           ("SVE", "sve")):
        env[f"CMX_CPU_HAS_{label}"] = "yes" if any(re.match(f"^({pattern})", f) for f in flags) else "no"
    return env
