"""Find the CUDA toolkit (nvcc) and runtime (libcudart) and read their versions.

Every finder returns (found path or None, list of the places it looked), so a
failure can name each of them. Nothing here executes code found on disk except
`nvcc --version` and `nvcc --dryrun` (which only prints what it would do).
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

TIMEOUT = 120


def _versioned(paths) -> list[str]:
    """cuda-12.4 before cuda-12.1 before cuda-11.8 (newest first)."""
    return sorted(paths, key=lambda p: [int(x) for x in re.findall(r"\d+", os.path.basename(p))], reverse=True)


def install_dirs(roots: list[str]) -> list[str]:
    """<root>/cuda, then <root>/cuda-X.Y newest first, for each root that exists."""
    dirs = []
    for root in roots:
        if root and os.path.isdir(os.path.join(root, "cuda")):
            dirs.append(os.path.join(root, "cuda"))
        dirs += _versioned(d for d in glob.glob(os.path.join(root, "cuda-*")) if os.path.isdir(d))
    return dirs


def find_nvcc(cuda_home: str | None, path_dirs: list[str], roots: list[str]) -> tuple[str | None, list[str]]:
    """An explicit CUDA home is the only place looked in; otherwise PATH, then the install roots."""
    if cuda_home:
        candidate = os.path.join(cuda_home, "bin", "nvcc")
        return (candidate if _executable(candidate) else None), [candidate]
    looked = [f"PATH ({os.pathsep.join(path_dirs) or 'empty'})"]
    found = shutil.which("nvcc", path=os.pathsep.join(path_dirs))
    if found:
        return found, looked
    for root in roots:
        looked.append(os.path.join(root, "cuda*", "bin", "nvcc"))
    for d in install_dirs(roots):
        candidate = os.path.join(d, "bin", "nvcc")
        if _executable(candidate):
            return candidate, looked
    return None, looked


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def parse_nvcc_version(text: str) -> tuple[str, str] | None:
    """'Cuda compilation tools, release 13.0, V13.0.88' -> ('13.0', '13.0.88')."""
    m = re.search(r"release (\d+\.\d+), V(\d+(?:\.\d+)+)", text)
    return (m.group(1), m.group(2)) if m else None


def nvcc_facts(nvcc: str) -> dict[str, str]:
    """Version from `nvcc --version`; the real install folder from `nvcc --dryrun` (nvcc may be a wrapper script)."""
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    version = parse_nvcc_version(out.stdout)
    dry = subprocess.run([nvcc, "--dryrun", "-c", "cmx-probe.cu"], capture_output=True, text=True, timeout=TIMEOUT,
                         stdin=subprocess.DEVNULL)
    top = re.search(r"^#\$ TOP=(.+)$", dry.stdout + dry.stderr, re.M)
    home = os.path.realpath(top.group(1).strip()) if top else os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))
    return {"version": version[0] if version else "", "version_full": version[1] if version else "",
            "home": home, "nvcc_output": out.stdout.strip() or out.stderr.strip()}


# -- runtime -------------------------------------------------------------------------------------

def lib_dirs_of(home: str) -> list[str]:
    arch = platform.machine()
    return [os.path.join(home, "lib64"), os.path.join(home, "lib"),
            os.path.join(home, "targets", f"{arch}-linux", "lib")]


def ldconfig_cudart() -> list[str]:
    exe = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None)
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_ldconfig(out.stdout)


def parse_ldconfig(text: str) -> list[str]:
    """`ldconfig -p` lines 'libcudart.so.12 (libc6,x86-64) => /path' -> paths, versioned sonames first."""
    paths = re.findall(r"^\s*libcudart\.so[.\d]*\s.*=>\s*(\S+)\s*$", text, re.M)
    return sorted(paths, key=lambda p: (os.path.basename(p) == "libcudart.so", p))


def _first_lib(dirs: list[str]) -> str | None:
    for d in dirs:
        libs = sorted(glob.glob(os.path.join(d, "libcudart.so*")), key=lambda p: (p.endswith(".so"), p))
        if libs:
            return libs[0]
    return None


def find_cudart(cuda_home: str | None, ld_path: list[str], roots: list[str]) -> tuple[str | None, list[str]]:
    """An explicit CUDA home is the only place looked in; else LD_LIBRARY_PATH, ldconfig, install roots, /usr/lib."""
    if cuda_home:
        dirs = lib_dirs_of(cuda_home)
        return _first_lib(dirs), [os.path.join(d, "libcudart.so*") for d in dirs]
    looked = [f"LD_LIBRARY_PATH ({os.pathsep.join(ld_path) or 'empty'})"]
    lib = _first_lib(ld_path)
    if lib:
        return lib, looked
    looked.append("ldconfig -p")
    cached = ldconfig_cudart()
    if cached:
        return cached[0], looked
    system_dirs = [f"/usr/lib/{platform.machine()}-linux-gnu", "/usr/lib64"]
    looked += [os.path.join(r, "cuda*", "{lib64,lib,targets/*/lib}") for r in roots] + system_dirs
    return _first_lib([d for home in install_dirs(roots) for d in lib_dirs_of(home)] + system_dirs), looked


def runtime_version(lib: str) -> str:
    """version.json, then CUDART_VERSION in cuda_runtime_api.h next to the library, then the soname."""
    lib_dir = os.path.dirname(lib)
    for root in (os.path.dirname(lib_dir), os.path.dirname(os.path.dirname(lib_dir))):
        try:
            data = json.loads(Path(root, "version.json").read_text())
            return ".".join(str(data["cuda_cudart"]["version"]).split(".")[:2])
        except (OSError, ValueError, KeyError):
            pass
        for header in [Path(root, "include", "cuda_runtime_api.h")] + \
                [Path(p) for p in glob.glob(os.path.join(root, "targets", "*", "include", "cuda_runtime_api.h"))]:
            version = header_version(header)
            if version:
                return version
    m = re.search(r"\.so\.(\d+(?:\.\d+)*)$", os.path.realpath(lib)) or re.search(r"\.so\.(\d+(?:\.\d+)*)$", lib)
    return m.group(1) if m else ""


def header_version(header: Path) -> str:
    """'#define CUDART_VERSION 12040' -> '12.4'."""
    try:
        m = re.search(r"#define\s+CUDART_VERSION\s+(\d+)", header.read_text(errors="replace"))
    except OSError:
        return ""
    if not m:
        return ""
    n = int(m.group(1))
    return f"{n // 1000}.{n % 1000 // 10}"
