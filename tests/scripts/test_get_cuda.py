"""get-cuda: the toolkit this machine has (nvcc 13.0, no GPU), and the "CUDA not found" errors.

The found-cases are checked against what nvcc and ldconfig say when asked directly,
and skip on a machine without them. The not-found cases hide nvcc by running cmx
with a PATH that has no nvcc and by pointing CMX_CUDA_INSTALL_ROOTS at an empty folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.captured_tools import load_module

RECIPE = Path(__file__).resolve().parents[2] / "scripts" / "get-cuda"
NVCC = shutil.which("nvcc")


def _nvcc_release() -> str:
    out = subprocess.run([NVCC, "--version"], capture_output=True, text=True).stdout
    return re.search(r"release (\d+\.\d+)", out).group(1)


def _path_without_nvcc() -> str:
    dirs = [os.path.dirname(sys.executable), "/usr/bin", "/bin"]
    return os.pathsep.join(d for d in dirs if not os.path.exists(os.path.join(d, "nvcc")))


@pytest.mark.skipif(NVCC is None, reason="no nvcc on PATH on this machine")
def test_toolkit_found_on_path(cmx):
    res = cmx("run", "script", "--tags=get,cuda", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_CUDA_PART"] == "toolkit"
    assert env["CMX_NVCC_BIN_WITH_PATH"] == NVCC
    assert env["CMX_CUDA_VERSION"] == res.json["version"] == _nvcc_release()
    assert env["CMX_CUDA_VERSION_FULL"].startswith(env["CMX_CUDA_VERSION"] + ".")
    home = Path(env["CMX_CUDA_HOME"])
    assert os.access(home / "bin" / "nvcc", os.X_OK)  # the real install, also when PATH has a wrapper script
    assert env["+PATH"] == [str(home / "bin")]


@pytest.mark.skipif(NVCC is None, reason="no nvcc on PATH on this machine")
def test_version_min_and_max_apply_to_the_release(cmx):
    release = _nvcc_release()
    res = cmx("run", "script", "--tags=get,cuda", "--version_min=99.0")
    assert res.code != 0 and f"detected version {release} does not satisfy >=99.0" in res.err
    assert cmx("run", "script", "--tags=get,cuda", f"--version_min={release}", f"--version_max={release}").code == 0
    res = cmx("run", "script", "--tags=get,cuda", "--version_max=1.0")  # a cache hit is checked too
    assert res.code != 0 and f"version {release} does not satisfy <=1.0" in res.err


def test_runtime_agrees_with_ldconfig(cmx):
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    listed = subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout if os.path.exists(ldconfig) else ""
    paths = re.findall(r"libcudart\.so[.\d]*\s.*=>\s*(\S+)", listed)
    res = cmx("run", "script", "--tags=get,cuda,_runtime", "-j")
    if not paths:
        pytest.skip("no libcudart in the ldconfig cache here")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_CUDART_LIB_WITH_PATH"] in paths
    assert env["+LD_LIBRARY_PATH"] == [os.path.dirname(env["CMX_CUDART_LIB_WITH_PATH"])]
    assert re.match(r"^\d+\.\d+", env["CMX_CUDA_VERSION"])


def test_not_found_names_every_place_it_looked(cmx, tmp_path):
    empty_root = tmp_path / "no-cuda-here"
    empty_root.mkdir()
    path = _path_without_nvcc()
    res = cmx("run", "script", "--tags=get,cuda", f"--env.CMX_CUDA_INSTALL_ROOTS={empty_root}",
              env={"PATH": path, "CUDA_HOME": "", "CUDA_PATH": ""})
    assert res.code == 1, res.err
    assert "CUDA not found: looked for nvcc in:" in res.err
    assert f"PATH ({path})" in res.err
    assert f"{empty_root}/cuda*/bin/nvcc" in res.err
    assert "Traceback" not in res.err


def test_explicit_cuda_home_is_the_only_place_looked(cmx):
    """Even with nvcc on PATH: CUDA_HOME names the install the user wants, so a wrong one is an error."""
    res = cmx("run", "script", "--tags=get,cuda", "--env.CUDA_HOME=/nonexistent")
    assert res.code == 1
    assert "CUDA not found: looked for nvcc in: /nonexistent/bin/nvcc" in res.err
    assert "CUDA_HOME (given to cmx) is set to /nonexistent" in res.err


def test_cuda_home_from_the_shell_is_honoured(cmx):
    res = cmx("run", "script", "--tags=get,cuda,_runtime", env={"CUDA_HOME": "/nonexistent-too"})
    assert res.code == 1
    assert "libcudart.so*" in res.err and "/nonexistent-too/lib64/libcudart.so*" in res.err
    assert "from your environment" in res.err


@pytest.mark.skipif(not os.path.isdir("/usr/local/cuda/bin"), reason="no /usr/local/cuda here")
def test_cuda_home_input_selects_an_install(cmx):
    res = cmx("run", "script", "--tags=get,cuda", "--cuda_home=/usr/local/cuda", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_NVCC_BIN_WITH_PATH"] == "/usr/local/cuda/bin/nvcc"
    assert env["CMX_CUDA_HOME"] == os.path.realpath("/usr/local/cuda")
    runtime = cmx("run", "script", "--tags=get,cuda,_runtime", "--cuda_home=/usr/local/cuda", "-j").json["new_env"]
    assert runtime["CMX_CUDA_VERSION"] == env["CMX_CUDA_VERSION"]  # from cuda_runtime_api.h next to the library


def test_parse_nvcc_version():
    find = load_module(RECIPE / "cuda_find.py", "cuda_find_under_test")
    text = ("nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2025 NVIDIA Corporation\n"
            "Built on Wed_Aug_20_01:58:59_PM_PDT_2025\nCuda compilation tools, release 13.0, V13.0.88\n"
            "Build cuda_13.0.r13.0/compiler.36424714_0\n")  # this machine's `nvcc --version`
    assert find.parse_nvcc_version(text) == ("13.0", "13.0.88")
    assert find.parse_nvcc_version("bash: nvcc: command not found") is None
    if NVCC:
        live = subprocess.run([NVCC, "--version"], capture_output=True, text=True).stdout
        assert find.parse_nvcc_version(live)[0] == _nvcc_release()


def test_install_dirs_newest_first(tmp_path):
    find = load_module(RECIPE / "cuda_find.py", "cuda_find_under_test")
    for name in ("cuda-11.8", "cuda-12.10", "cuda-12.4", "cuda"):
        (tmp_path / name).mkdir()
    assert [os.path.basename(d) for d in find.install_dirs([str(tmp_path)])] == ["cuda", "cuda-12.10", "cuda-12.4", "cuda-11.8"]


def test_declared_meta_tests_pass(cmx):
    res = cmx("test", "script", "get-cuda")
    assert res.code == 0, res.out + res.err
