"""cmx installed from a wheel (no checkout): the built-in recipes and automations ship inside it.

One wheel is built offline from a copy of the tracked sources and installed into one fresh venv
for the whole module. The venv sees the test venv's packages (cmx's dependencies) through a
path entry, so nothing is downloaded; cmx itself comes only from the wheel. Every command runs
from an unrelated folder, with HOME in a temporary folder and no CMX_HOME, so the default home
of an installed cmx (``~/.cmx``) is what is used.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md",
           "cmx", "cmx_slurm", "experiments", "flexbench", "openmlperf", "scripts", "automations", "docs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "_builtin")
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name, **(
            {"ignore": ignore} if (ROOT / name).is_dir() else {}))
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(dist), str(src)], check=True, capture_output=True, text=True)
    wheel = next(dist.glob("cmx-*.whl"))
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    # cmx's dependencies from the test venv, after the new venv's own site-packages
    (purelib / "zz-test-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, text=True)
    user_home = base / "user"
    work = base / "elsewhere"
    user_home.mkdir()
    work.mkdir()
    return {"bin": env_dir / "bin", "purelib": purelib, "home": user_home, "cwd": work, "wheel": wheel, "src": src}


def _env(installed: dict[str, Path]) -> dict[str, str]:
    """No CMX_HOME (the default home of an installed cmx is used), HOME in a temporary folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMX_", "PYTHON"))}
    env["HOME"] = str(installed["home"])
    return env


def _cmx(installed: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = _env(installed)
    return subprocess.run([str(installed["bin"] / "cmx"), *args], capture_output=True, text=True,
                          env=env, cwd=installed["cwd"], timeout=300)


def test_the_wheel_ships_recipes_and_automations_under_cmx(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {n.split("/")[0] for n in names} == {"cmx", "cmx_slurm", "experiments", "flexbench", "openmlperf", f"{installed['wheel'].name.split('-py')[0]}.dist-info"}
    assert "cmx/_builtin/scripts/detect-os/meta.yaml" in names
    assert "cmx/_builtin/automations/script/module.py" in names
    assert not (installed["purelib"] / "automations").exists() and not (installed["purelib"] / "scripts").exists()


def test_help_points_at_docs_shipped_in_the_wheel(installed):
    res = _cmx(installed, "help")
    assert res.returncode == 0, res.stderr
    guide = Path(res.stdout.strip().splitlines()[-1].split("docs: ", 1)[1].split()[0])
    assert guide.is_file() and guide.is_relative_to(installed["purelib"]), guide
    shown = _cmx(installed, "help", "recipe-format")
    assert shown.returncode == 0 and shown.stdout.startswith("#")
    assert _cmx(installed, "run", "script", "-h").stdout.startswith("usage: cmx run script")


def test_detect_os_from_an_unrelated_folder(installed):
    res = _cmx(installed, "run", "script", "--tags=detect,os", "-j")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["new_env"]["CMX_HOST_OS_TYPE"] in ("linux", "darwin")
    # the default home of an installed cmx is ~/.cmx
    assert (installed["home"] / ".cmx" / "cache" / "store").is_dir()
    assert not (installed["purelib"] / "cache").exists()


def test_find_script_lists_the_builtins(installed):
    res = _cmx(installed, "find", "script", "--tags=get,python", "-j")
    assert res.returncode == 0, res.stderr
    aliases = {r["alias"] for r in json.loads(res.stdout)["list"]}
    assert {"get-python3", "get-python-venv"} <= aliases


def test_print_hello_world_runs(installed):
    res = _cmx(installed, "run", "script", "--tags=print,hello-world", "-j")
    assert res.returncode == 0, res.stderr
    assert "CMX_HELLO" in "".join(json.loads(res.stdout)["new_env"])


def test_flexbench_noop_plans(installed):
    res = _cmx(installed, "run", "script", "--tags=run,flexbench,_noop", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "run-flexbench" in res.stdout + res.stderr


def test_access_api_from_the_wheel(installed):
    code = ("import cmx, json; r = cmx.access({'action': 'find', 'automation': 'script', 'tags': 'detect,os'});"
            "print(json.dumps([x['alias'] for x in r.get('list', [])] or r))")
    env = _env(installed)
    res = subprocess.run([str(installed["bin"] / "python"), "-c", code], capture_output=True, text=True,
                         env=env, cwd=installed["cwd"], timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == ["detect-os"]


def test_flexbench_source_folder_holds_only_flexbench(installed):
    """The benchmark venv's PYTHONPATH gets a folder with flexbench alone, not site-packages."""
    code = "from cmx.sources import flexbench_src; print(flexbench_src())"
    env = _env(installed)
    res = subprocess.run([str(installed["bin"] / "python"), "-c", code], capture_output=True, text=True,
                         env=env, cwd=installed["cwd"], timeout=120)
    assert res.returncode == 0, res.stderr
    folder = Path(res.stdout.strip())
    assert folder.is_relative_to(installed["home"] / ".cmx")
    assert [p.name for p in folder.iterdir()] == ["flexbench"]
    assert (folder / "flexbench").resolve() == (installed["purelib"] / "flexbench").resolve()


def test_make_install_is_a_plain_path_entry_without_the_compat_mode(installed, tmp_path):
    """`make install`'s editable mode: setuptools' default, which must give a plain path entry to the
    checkout (no import hook, for start-up time) now that compat mode is deprecated."""
    makefile = (ROOT / "Makefile").read_text()
    assert "editable_mode=compat" not in makefile
    env_dir = tmp_path / "venv-editable"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "zz-test-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")  # setuptools, offline
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                          "--no-build-isolation", "-e", str(installed["src"])], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "transitional" not in res.stdout + res.stderr
    pth = [p for p in purelib.glob("__editable__*cmx*")]
    assert [p.suffix for p in pth] == [".pth"], pth  # no __editable___cmx_finder.py import hook
    assert pth[0].read_text().strip() == str(installed["src"])


def test_a_home_shared_with_a_checkout_lists_each_ones_builtins(installed, tmp_path):
    """The recipe index of a home records where the built-ins were; another cmx sharing the home
    (here the checkout's and the wheel's) must not be served the other one's recipe folders."""
    shared = tmp_path / "shared-home"
    env = {**_env(installed), "CMX_HOME": str(shared)}
    args = ["find", "script", "--tags=detect,os", "-j"]
    checkout = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], capture_output=True, text=True,
                              env=env, cwd=installed["cwd"], timeout=120)
    wheel = subprocess.run([str(installed["bin"] / "cmx"), *args], capture_output=True, text=True,
                           env=env, cwd=installed["cwd"], timeout=120)
    assert checkout.returncode == 0 and wheel.returncode == 0, checkout.stderr + wheel.stderr
    assert Path(json.loads(checkout.stdout)["list"][0]["path"]).is_relative_to(ROOT)
    assert Path(json.loads(wheel.stdout)["list"][0]["path"]).is_relative_to(installed["purelib"])
