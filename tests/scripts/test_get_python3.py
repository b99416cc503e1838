"""get-python3: detects a real interpreter (the one running cmx, or --python=...),
and the engine holds it to --version_min/--version_max."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig

import pytest

from tests.conftest import store_entries


def _run(cmx, *extra):
    return cmx("run", "script", "--tags=get,python3", *extra, "-j")


def _facts(python: str) -> dict:
    code = ("import json, platform, sys, sysconfig; print(json.dumps({'v': platform.python_version(), "
            "'prefix': sys.prefix, 'include': sysconfig.get_paths()['include']}))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_meta_tests_pass(cmx):
    res = cmx("test", "script", "get-python3")
    assert res.code == 0, res.out + res.err


def test_default_is_the_interpreter_running_cmx(cmx):
    res = _run(cmx)
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_PYTHON_BIN_WITH_PATH"] == sys.executable  # the tests run cmx with this interpreter
    assert env["CMX_PYTHON_VERSION"] == platform.python_version() == res.json["version"]
    assert env["CMX_PYTHON_MAJOR_VERSION"] == str(sys.version_info.major)
    assert env["CMX_PYTHON_MINOR_VERSION"] == str(sys.version_info.minor)
    assert env["CMX_PYTHON_PREFIX"] == sys.prefix
    assert env["CMX_PYTHON_BASE_PREFIX"] == sys.base_prefix
    assert env["CMX_PYTHON_IS_VENV"] == ("yes" if sys.prefix != sys.base_prefix else "no")
    assert env["CMX_PYTHON_INCLUDE_PATH"] == sysconfig.get_paths()["include"]
    has_headers = os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
    assert env["CMX_PYTHON_HAS_HEADERS"] == ("yes" if has_headers else "no")
    assert env["CMX_PYTHON_HAS_PIP"] == "yes"


def test_probe_is_cached(cmx, home):
    first = _run(cmx)
    second = _run(cmx)
    assert first.code == second.code == 0
    assert not first.json["cached"] and second.json["cached"]
    assert first.json["key"] == second.json["key"]
    assert len(store_entries(home)) == 1


def test_explicit_interpreter_by_path_and_by_name(cmx):
    other = shutil.which("python3", path="/usr/bin:/bin")
    if other is None:
        pytest.skip("no /usr/bin/python3 on this machine")
    res = _run(cmx, f"--python={other}")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    facts = _facts(other)
    assert env["CMX_PYTHON_BIN_WITH_PATH"] == other
    assert env["CMX_PYTHON_VERSION"] == facts["v"]
    assert env["CMX_PYTHON_PREFIX"] == facts["prefix"]
    assert env["CMX_PYTHON_INCLUDE_PATH"] == facts["include"]
    by_name = _run(cmx, "--python=python3")  # looked up on PATH
    assert by_name.code == 0, by_name.err
    assert by_name.json["new_env"]["CMX_PYTHON_BIN_WITH_PATH"] == shutil.which("python3")
    assert by_name.json["new_env"]["CMX_PYTHON_VERSION"] == _facts(shutil.which("python3"))["v"]


def test_version_min_that_cannot_be_met_fails_clearly(cmx):
    res = cmx("run", "script", "--tags=get,python3", "--version_min=99")
    assert res.code == 1
    assert f"detected version {platform.python_version()} does not satisfy >=99" in res.err
    assert "Traceback" not in res.err


def test_version_max_and_ranges(cmx):
    low = cmx("run", "script", "--tags=get,python3", "--version_max=3.0")
    assert low.code == 1 and "does not satisfy <=3.0" in low.err
    # the engine compares whole versions: --version_max=3.11 means 3.11.0, so 3.11.7 needs 3.12
    ok = _run(cmx, "--version_min=3.0", f"--version_max={sys.version_info.major}.{sys.version_info.minor + 1}")
    assert ok.code == 0, ok.err
    assert ok.json["version"] == platform.python_version()


def test_version_min_is_checked_on_a_cache_hit_too(cmx):
    assert _run(cmx).code == 0
    res = cmx("run", "script", "--tags=get,python3", "--version_min=99")
    assert res.code == 1


def test_exact_version_is_a_release_prefix(cmx):
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    ok = _run(cmx, f"--version={major_minor}")
    assert ok.code == 0, ok.err
    assert ok.json["new_env"]["CMX_PYTHON_VERSION"] == platform.python_version()
    bad = cmx("run", "script", "--tags=get,python3", "--version=2.7")
    assert bad.code == 1
    assert f"is {platform.python_version()}, not the requested version 2.7" in bad.err


@pytest.mark.parametrize("given, message", [
    ("/nonexistent/cmx/python3", "no Python interpreter at /nonexistent/cmx/python3"),
    ("/etc", "is not an executable file"),
    ("/bin/true", "is not a working Python 3 interpreter"),
    ("cmx-no-such-python", "no command 'cmx-no-such-python' on PATH"),
])
def test_what_is_not_an_interpreter_fails_clearly(cmx, given, message):
    res = cmx("run", "script", "--tags=get,python3", f"--python={given}")
    assert res.code == 1
    assert message in res.err
    assert "Traceback" not in res.err
