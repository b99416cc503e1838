"""install-python-package: real pip installs into real cmx-managed venvs.

Most tests install wheels that the test builds itself into a local folder and
give pip `--no_index --find_links=DIR`, so they run without any index. One test
takes `six` through pip's configured indexes (here: the machine's PyPI mirror).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_cmx

DUMMY = "cmx-test-dummy"


def make_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal valid pure-Python wheel: one module that knows its version."""
    module = name.replace("-", "_")
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n',
        f"{module}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{module}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: cmx-tests\nRoot-Is-Purelib: true\n"
                                               "Tag: py3-none-any\n",
    }
    record = f"{module}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    lines.append(f"{record},,")
    files[record] = "\n".join(lines) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def phome(tmp_path_factory):
    """One home (and so one set of venvs) for the whole module."""
    return tmp_path_factory.mktemp("pkg-home")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    for version in ("0.1.0", "0.2.0"):
        make_wheel(folder, DUMMY, version)
    return folder


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("empty-find-links")


def cmx_run(home, *args):
    return run_cmx("run", "script", *args, home=home)


def install(home, package, *extra, venv="ipp"):
    res = cmx_run(home, f"--tags=install,python-package,_package.{package}", f"--adr.venv.tags=_name.{venv}",
                  *extra, "-j")
    assert res.code == 0, res.err
    return res.json


def venv_python(home, venv):
    res = cmx_run(home, f"--tags=get,python,venv,_name.{venv}", "-j")
    assert res.code == 0, res.err
    return res.json["new_env"]["CMX_VENV_PYTHON"]


def installed_version(python: str, dist: str) -> str | None:
    code = ("import importlib.metadata as m, sys\ntry: print(m.version(sys.argv[1]))\n"
            "except m.PackageNotFoundError: print('')")
    out = subprocess.run([python, "-c", code, dist], capture_output=True, text=True, check=True).stdout.strip()
    return out or None


def log_of(out) -> str:
    return (Path(out["cache_path"]) / "cmx-run.log").read_text()


def test_installs_six_from_the_configured_index_then_hits_the_cache(phome):
    first = install(phome, "six")
    env = first["new_env"]
    python = env["CMX_VENV_PYTHON"]
    assert env["CMX_VENV_NAME"] == "ipp"
    assert env["CMX_PYTHON_PACKAGE_NAME"] == "six"
    assert env["CMX_PYTHON_PACKAGE_ACTION"] == "installed"
    assert env["CMX_PYTHON_PACKAGE_VERSION"] == env["CMX_PYTHON_PACKAGE_SIX_VERSION"] == first["version"]
    assert installed_version(python, "six") == first["version"]
    assert "Successfully installed six-" in log_of(first)
    imported = subprocess.run([python, "-c", "import six; print(six.__file__)"], capture_output=True, text=True)
    assert imported.returncode == 0 and imported.stdout.startswith(env["CMX_VENV_PATH"])
    second = install(phome, "six")
    assert second["cached"] and second["key"] == first["key"]
    assert second["new_env"] == first["new_env"]


def test_local_wheels_and_version_pin(phome, wheels):
    links = f"--find_links={wheels}"
    newest = install(phome, DUMMY, "--no_index", links, venv="pin")
    assert newest["version"] == "0.2.0" and newest["new_env"]["CMX_PYTHON_PACKAGE_ACTION"] == "installed"
    pinned = install(phome, DUMMY, "--no_index", links, "--version=0.1.0", venv="pin")
    assert pinned["key"] != newest["key"]
    assert pinned["version"] == "0.1.0"
    assert pinned["new_env"]["CMX_PYTHON_PACKAGE_REQUIREMENT"] == f"{DUMMY}==0.1.0"
    assert pinned["new_env"]["CMX_PYTHON_PACKAGE_CMX_TEST_DUMMY_VERSION"] == "0.1.0"
    python = pinned["new_env"]["CMX_VENV_PYTHON"]
    assert installed_version(python, DUMMY) == "0.1.0"
    log = log_of(pinned)
    assert f"{DUMMY} 0.2.0 is in venv 'pin'" in log and f"Successfully installed {DUMMY}-0.1.0" in log
    ranged = install(phome, DUMMY, "--no_index", links, "--specifier=>0.1,<1", venv="pin")
    assert ranged["version"] == "0.2.0" and ranged["key"] not in (newest["key"], pinned["key"])


def test_an_already_satisfying_installation_is_not_reinstalled(phome, wheels):
    python = venv_python(phome, "pre")
    pre = subprocess.run([python, "-m", "pip", "install", "--no-index", "--find-links", str(wheels),
                          f"{DUMMY}==0.1.0"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert pre.returncode == 0, pre.stderr
    out = install(phome, DUMMY, "--no_index", f"--find_links={wheels}", venv="pre")
    env = out["new_env"]
    assert env["CMX_PYTHON_PACKAGE_ACTION"] == "already-installed"
    assert out["version"] == "0.1.0"  # what was there, not the newest in the folder
    log = log_of(out)
    assert f"{DUMMY} 0.1.0 is already installed in venv 'pre'" in log
    assert "pip install" not in log and "Successfully installed" not in log and "Processing" not in log
    same = install(phome, DUMMY, "--no_index", f"--find_links={wheels}", "--version=0.1.0", venv="pre")
    assert same["new_env"]["CMX_PYTHON_PACKAGE_ACTION"] == "already-installed"
    assert "Successfully installed" not in log_of(same)


def test_a_different_venv_is_a_different_entry(phome, wheels):
    a = install(phome, DUMMY, "--no_index", f"--find_links={wheels}", "--version=0.2.0", venv="pin")
    b = install(phome, DUMMY, "--no_index", f"--find_links={wheels}", "--version=0.2.0", venv="other")
    assert a["key"] != b["key"]
    assert a["new_env"]["CMX_VENV_PATH"] != b["new_env"]["CMX_VENV_PATH"]
    assert installed_version(b["new_env"]["CMX_VENV_PYTHON"], DUMMY) == "0.2.0"


def test_extra_index_variation(phome, wheels, tmp_path):
    """_index.URL adds a PEP 503 index; the main index is replaced by an empty one, so nothing leaves the machine."""
    simple = tmp_path / "simple"
    (simple / DUMMY).mkdir(parents=True)
    links = "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in sorted(wheels.glob("*.whl")))
    (simple / DUMMY / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    empty = tmp_path / "empty-simple"
    empty.mkdir()
    res = cmx_run(phome, f"--tags=install,python-package,_package.{DUMMY},_index.{simple.as_uri()}",
                  "--adr.venv.tags=_name.other", f"--index_url={empty.as_uri()}", "--version=0.1.0", "-j")
    assert res.code == 0, res.err
    assert res.json["version"] == "0.1.0"
    assert f"--extra-index-url {simple.as_uri()}" in log_of(res.json)


def test_missing_package_on_an_empty_offline_index_fails_clearly(phome, empty_dir):
    for package, requirement in (("six", "six==1.16.0"), ("cmx-no-such-package", "cmx-no-such-package")):
        extra = ["--version=1.16.0"] if package == "six" else []
        res = cmx_run(phome, f"--tags=install,python-package,_package.{package}", "--adr.venv.tags=_name.ipp",
                      "--no_index", f"--find_links={empty_dir}", *extra)
        assert res.code == 1
        first = next(line for line in res.err.splitlines() if line.startswith("cmx: error:"))
        assert f"pip could not install {requirement} into venv 'ipp'" in first
        assert f"No matching distribution found for {requirement}" in first
        assert f"no index (--no-index), find-links {empty_dir}" in first
        assert "Traceback" not in res.err


def test_torch_is_pinned_unless_a_version_is_asked_for(phome, empty_dir):
    """Checked without downloading anything: the requirement pip is given shows the pin."""
    res = cmx_run(phome, "--tags=install,python-package,_package.torch", "--adr.venv.tags=_name.ipp",
                  "--no_index", f"--find_links={empty_dir}")
    assert res.code == 1 and "pip could not install torch==2.13.0 " in res.err
    assert "pinned to 2.13.0 by default" in res.err
    other = cmx_run(phome, "--tags=install,python-package,_package.torch", "--adr.venv.tags=_name.ipp",
                    "--no_index", f"--find_links={empty_dir}", "--version=2.14.1")
    assert other.code == 1 and "pip could not install torch==2.14.1 " in other.err


@pytest.mark.parametrize("args, message", [
    (["--tags=install,python-package"], "which package? add _package.NAME"),
    (["--tags=install,python-package,_package.git+https://example.org/x"], "is not a package name pip can take"),
    (["--tags=install,python-package,_package.six", "--version=1", "--specifier=<2"], "not both"),
    (["--tags=install,python-package,_package.six", "--specifier=lots"], "is not a pip version specifier"),
    (["--tags=install,python-package,_package.six", "--find_links=/nonexistent/cmx"], "no such folder"),
])
def test_bad_requests_fail_before_pip_runs(phome, args, message):
    res = cmx_run(phome, *args, "--adr.venv.tags=_name.ipp")
    assert res.code == 1
    assert message in res.err and "Traceback" not in res.err


def test_meta_tests_pass(phome):
    res = run_cmx("test", "script", "install-python-package", home=phome)
    assert res.code == 0, res.out + res.err


@pytest.mark.slow
def test_default_torch_is_the_cpu_wheel_on_disk(phome):
    """Installs the real torch 2.13.0 CPU wheel (about 190 MB from this machine's disk)."""
    out = install(phome, "torch", venv="torch")
    assert out["version"].startswith("2.13.0")
    check = subprocess.run([out["new_env"]["CMX_VENV_PYTHON"], "-c",
                            "import torch; print(torch.__version__, torch.version.cuda)"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    version, cuda = check.stdout.split()
    assert version.startswith("2.13.0") and cuda == "None"
