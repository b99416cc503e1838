"""get-sys-util: finds real tools on this machine, refuses unknown names quickly,
and, as a real non-root user (nobody), fails with the command to run instead of
prompting for a password."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, Result

APT = shutil.which("apt-get") is not None and shutil.which("apt-cache") is not None


def _run(cmx, name, *extra):
    return cmx("run", "script", f"--tags=get,sys-util,_name.{name}", *extra, "-j")


def _apt_knows(package: str) -> bool:
    return subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True,
                          stdin=subprocess.DEVNULL).returncode == 0


def _absent_tool() -> str:
    """A small tool that apt knows but this machine does not have."""
    if not APT:
        pytest.skip("needs apt")
    for name in ("tree", "sl", "cowsay", "figlet"):
        if shutil.which(name) is None and _apt_knows(name):
            return name
    pytest.skip("every candidate tool is already installed")


def test_meta_tests_pass(cmx):
    res = cmx("test", "script", "get-sys-util")
    assert res.code == 0, res.out + res.err


def test_present_tool_is_found_without_installing(cmx):
    res = _run(cmx, "git")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert env["CMX_SYS_UTIL_PATH"] == env["CMX_SYS_UTIL_GIT_PATH"] == shutil.which("git")
    log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
    assert "git: found" in log and "apt-get" not in log and "installed package" not in log
    assert not res.json["cached"]  # checked on every run
    again = _run(cmx, "git")
    assert again.code == 0 and again.json["new_env"] == env


@pytest.mark.skipif(not APT, reason="names mapped for apt")
def test_names_are_mapped_to_their_packages(cmx):
    if shutil.which("xz") is None:
        pytest.skip("xz not installed")
    res = _run(cmx, "xz")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CMX_SYS_UTIL_PACKAGE"] == "xz-utils"
    assert res.json["new_env"]["CMX_SYS_UTIL_PATH"] == shutil.which("xz")


@pytest.mark.skipif(not APT, reason="library packages checked through dpkg")
def test_a_library_package_is_checked_through_the_package_manager(cmx):
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "zlib1g-dev"], capture_output=True, text=True)
    if not status.stdout.endswith(" installed"):
        pytest.skip("zlib1g-dev not installed")
    res = _run(cmx, "zlib")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CMX_SYS_UTIL_PACKAGE"] == "zlib1g-dev"
    assert res.json["new_env"]["CMX_SYS_UTIL_PATH"] == ""


@pytest.mark.skipif(not APT, reason="checks apt's package lists")
def test_a_name_no_package_provides_fails_clearly_without_installing(cmx):
    res = cmx("run", "script", "--tags=get,sys-util,_name.cmx-no-such-tool-xyz")
    assert res.code == 1
    assert "no apt package is named 'cmx-no-such-tool-xyz'" in res.err
    assert "apt-get install" not in res.err.split("log:")[0].split("failed:")[0]
    assert "Traceback" not in res.err


@pytest.mark.parametrize("name", ["-oAPT::x=1", "a;b", "$(id)"])
def test_bad_names_are_rejected(cmx, name):
    res = cmx("run", "script", f"--tags=get,sys-util,_name.{name}")
    assert res.code in (1, 2)
    assert ("bad tool name" in res.err or "bad variation" in res.err) and "Traceback" not in res.err


# -- as a real non-root user -----------------------------------------------------------


@pytest.fixture
def as_nobody():
    """Run cmx as the user nobody, with this checkout and its installed dependencies.

    nobody cannot enter /root, where the test interpreter may live, so it uses a
    system interpreter of the same version with this venv's site-packages."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root and runuser to switch to nobody")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/bin:/usr/local/bin")
    if python is None:
        pytest.skip("no system interpreter of the same version for nobody")
    paths = sysconfig.get_paths()
    pythonpath = os.pathsep.join(dict.fromkeys([str(ROOT), paths["purelib"], paths["platlib"]]))
    base = Path(tempfile.mkdtemp(prefix="cmx-nobody-", dir="/tmp"))
    base.chmod(0o777)
    home = base / "home"

    def run(*args: str, path_prefix: str = "") -> Result:
        env = ["env", f"PYTHONPATH={pythonpath}", f"CMX_HOME={home}", "HOME=/tmp",
               f"PATH={path_prefix}{os.environ.get('PATH', '/usr/bin:/bin')}"]
        proc = subprocess.run(["runuser", "-u", "nobody", "--", *env, python, "-m", "cmx.cli.main", *args],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, cwd="/tmp")
        return Result(proc.returncode, proc.stdout, proc.stderr)

    probe = run("run", "script", "--tags=detect,os", "-q")
    if probe.code != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cmx does not run as nobody here: {probe.err.strip()[-200:]}")
    run.base = base  # type: ignore[attr-defined]
    yield run
    shutil.rmtree(base, ignore_errors=True)


def test_non_root_gets_the_command_to_run(as_nobody):
    tool = _absent_tool()
    res = as_nobody("run", "script", f"--tags=get,sys-util,_name.{tool}", "-j")
    assert res.code == 1
    assert "not running as root" in res.err
    has_sudo = shutil.which("sudo") is not None
    assert (f"sudo apt-get install -y {tool}" if has_sudo else f"as root with: apt-get install -y {tool}") in res.err
    assert "Traceback" not in res.err
    assert shutil.which(tool) is None  # nothing was installed
    present = as_nobody("run", "script", "--tags=get,sys-util,_name.git", "-j")
    assert present.code == 0, present.err
    assert present.json["new_env"]["CMX_SYS_UTIL_PATH"] == shutil.which("git")


def test_non_root_never_waits_for_a_sudo_password(as_nobody):
    """A `sudo` that, like the real one for a user without rights, fails on -n and
    otherwise waits (here: 600 s) for a password. The recipe must only use -n."""
    tool = _absent_tool()
    fake = as_nobody.base / "fake-sudo"
    fake.mkdir()
    calls = as_nobody.base / "sudo-calls.log"
    script = fake / "sudo"
    script.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n'
                      'if [ "$1" = "-n" ]; then echo "sudo: a password is required" >&2; exit 1; fi\n'
                      "sleep 600\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    fake.chmod(0o755)
    res = as_nobody("run", "script", f"--tags=get,sys-util,_name.{tool}", path_prefix=f"{fake}:")
    assert res.code == 1
    assert f"install it with: sudo apt-get install -y {tool}" in res.err
    assert "sudo needs a password" in res.err
    used = calls.read_text().splitlines()
    assert used and all(line.startswith("-n ") for line in used)


@pytest.mark.slow
def test_root_installs_a_tiny_package_with_apt(cmx):
    """Really installs a small package (tree, about 50 kB) with apt-get, then removes it."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tool = _absent_tool()
    try:
        res = _run(cmx, tool)
        assert res.code == 0, res.err
        assert res.json["new_env"]["CMX_SYS_UTIL_PATH"] == shutil.which(tool)
        log = (Path(res.json["cache_path"]) / "cmx-run.log").read_text()
        assert f"apt-get install -y --no-install-recommends {tool}" in log
        again = _run(cmx, tool)
        assert again.code == 0
        assert "nothing to install" in (Path(again.json["cache_path"]) / "cmx-run.log").read_text()
    finally:
        subprocess.run(["apt-get", "remove", "-y", tool], capture_output=True, stdin=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
