"""get-python-venv: a real venv, built in the entry's build folder and renamed
into the cache, that still works from its published path (relocate_files)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cmx


@pytest.fixture(scope="module")
def vhome(tmp_path_factory):
    """One home for the module: venvs take seconds to create, so tests share them."""
    return tmp_path_factory.mktemp("venv-home")


def _venv(vhome, *tags, extra=()):
    res = run_cmx("run", "script", "--tags=get,python,venv" + "".join(f",{t}" for t in tags), *extra, "-j",
                  home=vhome)
    assert res.code == 0, res.err
    return res.json


def _out(*cmd: str) -> str:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout.strip()


def test_default_venv_works_from_its_published_path(vhome):
    out = _venv(vhome)
    env = out["new_env"]
    entry = Path(out["cache_path"])
    venv = entry / "venv"
    assert env["CMX_VENV_NAME"] == "cmx"
    assert env["CMX_VENV_PATH"] == str(venv)
    assert env["CMX_VENV_PYTHON"] == str(venv / "bin" / "python")
    assert env["+PATH"] == [str(venv / "bin")]
    assert "/.tmp/" not in str(entry)
    # the interpreter finds its venv where it now lives, and pip's script (whose
    # shebang held the build path) runs
    assert _out(str(venv / "bin" / "python"), "-c", "import sys; print(sys.prefix)") == str(venv)
    pip = _out(str(venv / "bin" / "pip"), "--version")
    assert pip.startswith("pip ") and str(venv) in pip
    assert (venv / "bin" / "pip").read_text().splitlines()[0] == f"#!{venv}/bin/python" + pip.split("(python ")[1].rstrip(")")
    activated = _out("bash", "-c", f'. "{venv}/bin/activate" && echo "$VIRTUAL_ENV" && command -v python')
    assert activated.splitlines() == [str(venv), str(venv / "bin" / "python")]
    for f in list((venv / "bin").iterdir()) + [venv / "pyvenv.cfg"]:
        if f.is_file() and not f.is_symlink():
            assert "/.tmp/" not in f.read_text(errors="replace"), f"build path left in {f}"
    assert env["CMX_VENV_PYTHON_VERSION"] == out["version"] == _out(str(venv / "bin" / "python"), "-c",
                                                                    "import platform; print(platform.python_version())")


def test_second_run_is_a_cache_hit(vhome):
    first = _venv(vhome)
    second = _venv(vhome)
    assert second["cached"] and second["key"] == first["key"]
    assert second["new_env"] == first["new_env"]


def test_named_venvs_are_different_entries(vhome):
    a = _venv(vhome, "_name.alpha")
    b = _venv(vhome, "_name.beta")
    default = _venv(vhome)
    explicit = _venv(vhome, "_name.cmx")
    assert a["key"] != b["key"] and a["cache_path"] != b["cache_path"]
    assert {a["new_env"]["CMX_VENV_NAME"], b["new_env"]["CMX_VENV_NAME"]} == {"alpha", "beta"}
    assert explicit["key"] == default["key"] and explicit["cached"]  # no _name means _name.cmx
    for out in (a, b):
        python = out["new_env"]["CMX_VENV_PYTHON"]
        assert _out(python, "-c", "import sys; print(sys.prefix)") == out["new_env"]["CMX_VENV_PATH"]


def test_system_site_packages_input(vhome):
    out = _venv(vhome, "_name.alpha", extra=("--system_site_packages=yes",))
    cfg = Path(out["new_env"]["CMX_VENV_PATH"], "pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg
    plain = _venv(vhome, "_name.alpha")
    assert plain["key"] != out["key"]
    assert "include-system-site-packages = false" in Path(plain["new_env"]["CMX_VENV_PATH"], "pyvenv.cfg").read_text()


def test_bad_name_is_rejected_before_anything_is_built(vhome):
    res = run_cmx("run", "script", "--tags=get,python,venv,_name.a/b", home=vhome)
    assert res.code == 1
    assert "bad venv name 'a/b'" in res.err and "Traceback" not in res.err


def test_meta_tests_pass(vhome):
    res = run_cmx("test", "script", "get-python-venv", home=vhome)
    assert res.code == 0, res.out + res.err


def test_two_checkouts_venvs_on_one_interpreter_share_the_venv(vhome, tmp_path):
    """cmx run from two different venvs of the same base interpreter (two checkouts' .venv, or a
    wheel install) gets the same cached venv: its key holds the base interpreter's facts."""
    import sys
    import venv as venv_mod

    pythons = []
    for name in ("checkout-a", "checkout-b"):
        venv_mod.EnvBuilder(with_pip=False).create(tmp_path / name / ".venv")
        pythons.append(tmp_path / name / ".venv" / "bin" / "python")
    first = _venv(vhome, "_name.shared-base", extra=[f"--adr.python.python={pythons[0]}"])
    second = _venv(vhome, "_name.shared-base", extra=[f"--adr.python.python={pythons[1]}"])
    assert second["cached"] and second["cache_path"] == first["cache_path"]
    base = Path(first["new_env"]["CMX_VENV_BASE_PYTHON"])
    assert not base.is_relative_to(tmp_path) and base == Path(sys._base_executable).resolve()
    # the interpreter's own facts, not a path of one checkout, are what the key holds
    probe = run_cmx("run", "script", "--tags=get,python3,_base", f"--python={pythons[1]}", "-j", home=vhome).json
    env = probe["new_env"]
    assert env["CMX_PYTHON_IS_VENV"] == "no" and env["CMX_PYTHON_BUILD"]
    assert not any(str(tmp_path) in str(v) for v in env.values())
