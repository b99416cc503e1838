"""get-sys-util: is the tool there? If not, decide how to install it, or say how.

preprocess  maps the name to a command and a package, checks for it, and when
            it is missing picks the installer: the package manager as root,
            through `sudo -n` (never a password prompt) otherwise, or fails
            with the exact command for the user to run.
run.sh      runs that install (apt-get update only when lists are missing or stale).
postprocess checks again that the tool is now there.
"""

import os
import re
import shutil
import subprocess

# name -> (command to look for on PATH, or None for a library package checked
#          through the package manager; {manager: package name})
# Only names whose command or package differs from the name are listed; any other
# name is both the command and the package.
_TABLE = {
    "g++": ("g++", {"apt": "g++", "dnf": "gcc-c++", "yum": "gcc-c++", "brew": "gcc"}),
    "ninja": ("ninja", {"apt": "ninja-build", "dnf": "ninja-build", "yum": "ninja-build", "brew": "ninja"}),
    "ninja-build": ("ninja", {"apt": "ninja-build", "dnf": "ninja-build", "yum": "ninja-build", "brew": "ninja"}),
    "7z": ("7z", {"apt": "p7zip-full", "dnf": "p7zip", "yum": "p7zip", "brew": "p7zip"}),
    "xz": ("xz", {"apt": "xz-utils", "dnf": "xz", "yum": "xz", "brew": "xz"}),
    "ps": ("ps", {"apt": "procps", "dnf": "procps-ng", "yum": "procps-ng"}),
    "lscpu": ("lscpu", {"apt": "util-linux", "dnf": "util-linux", "yum": "util-linux"}),
    "ip": ("ip", {"apt": "iproute2", "dnf": "iproute", "yum": "iproute", "brew": "iproute2mac"}),
    "dig": ("dig", {"apt": "dnsutils", "dnf": "bind-utils", "yum": "bind-utils", "brew": "bind"}),
    "psql": ("psql", {"apt": "postgresql-client", "dnf": "postgresql", "yum": "postgresql", "brew": "libpq"}),
    "pkg-config": ("pkg-config", {"apt": "pkg-config", "dnf": "pkgconf-pkg-config", "yum": "pkgconfig",
                                  "brew": "pkg-config"}),
    "sha256sum": ("sha256sum", {"apt": "coreutils", "dnf": "coreutils", "yum": "coreutils", "brew": "coreutils"}),
    "md5sum": ("md5sum", {"apt": "coreutils", "dnf": "coreutils", "yum": "coreutils", "brew": "coreutils"}),
    "nproc": ("nproc", {"apt": "coreutils", "dnf": "coreutils", "yum": "coreutils", "brew": "coreutils"}),
    "python3-venv": (None, {"apt": "python3-venv"}),
    "python3-dev": (None, {"apt": "python3-dev", "dnf": "python3-devel", "yum": "python3-devel"}),
    "libssl-dev": (None, {"apt": "libssl-dev", "dnf": "openssl-devel", "yum": "openssl-devel", "brew": "openssl@3"}),
    "zlib": (None, {"apt": "zlib1g-dev", "dnf": "zlib-devel", "yum": "zlib-devel", "brew": "zlib"}),
    "libnuma-dev": (None, {"apt": "libnuma-dev", "dnf": "numactl-devel", "yum": "numactl-devel"}),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,99}$")
_SUPPORTED = ("apt", "dnf", "yum", "brew")
_TIMEOUT_S = 30


def _quiet(cmd):
    """Run a read-only query; (exit code, stdout). Never reads stdin."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return proc.returncode, proc.stdout


def _manager(env):
    known = env.get("CMX_HOST_OS_PACKAGE_MANAGER") or ""
    if known:
        return known
    for exe, name in (("apt-get", "apt"), ("dnf", "dnf"), ("yum", "yum"), ("brew", "brew")):
        if shutil.which(exe):
            return name
    return ""


def _lookup(name, manager):
    command, packages = _TABLE.get(name, (name, {}))
    return command, packages.get(manager, name if name not in _TABLE else None)


def _package_installed(manager, package):
    if manager == "apt":
        code, out = _quiet(["dpkg-query", "-W", "-f=${Status}", package])
        return code == 0 and out.strip().endswith(" installed")
    if manager in ("dnf", "yum"):
        return _quiet(["rpm", "-q", package])[0] == 0
    if manager == "brew":
        return _quiet(["brew", "list", "--versions", package])[0] == 0
    return False


def _present(command, manager, package):
    if command:
        return shutil.which(command) or ""
    return "(package)" if package and _package_installed(manager, package) else ""


def _apt_lists_present():
    lists = "/var/lib/apt/lists"
    try:
        return any(f.endswith(("_Packages", "_Packages.lz4", "_Packages.gz", "_Packages.xz"))
                   for f in os.listdir(lists))
    except OSError:
        return False


def _install_cmd(manager, package):
    return {
        "apt": f"apt-get install -y {package}",
        "dnf": f"dnf install -y {package}",
        "yum": f"yum install -y {package}",
        "brew": f"brew install {package}",
    }[manager]


def preprocess(i):
    env = i["env"]
    name = str(env.get("CMX_SYS_UTIL_NAME") or "").strip()
    if not name:
        return {"return": 1, "error": "which tool? add _name.TOOL to the tags (e.g. --tags=get,sys-util,_name.git)"}
    if not _NAME.match(name):
        return {"return": 1, "error": f"bad tool name '{name}': letters, digits and '+._-' only"}
    manager = _manager(env)
    command, package = _lookup(name, manager)
    env["CMX_SYS_UTIL_PACKAGE"] = package or ""
    env["CMX_SYS_UTIL_COMMAND"] = command or ""
    env["CMX_SYS_UTIL_MANAGER"] = manager

    where = _present(command, manager, package)
    if where:
        env["CMX_SYS_UTIL_ACTION"] = "found"
        env["CMX_SYS_UTIL_FOUND_AT"] = where
        return {"return": 0}

    what = f"'{command}'" if command else f"package '{package}'"
    if manager not in _SUPPORTED:
        return {"return": 1, "error": f"{what} is not installed and cmx cannot install it here "
                                      f"(package manager: {manager or 'none found'}); install '{name}' yourself"}
    if not package:
        return {"return": 1, "error": f"{what} is not installed and has no known {manager} package; "
                                      "install it yourself"}

    update_first = "no"
    if manager == "apt":
        if _apt_lists_present():
            if _quiet(["apt-cache", "show", "--no-all-versions", package])[0] != 0:
                return {"return": 1, "error": f"{what} is not installed and no apt package is named '{package}' "
                                              f"(apt-cache show {package} found nothing; if it is new, run "
                                              "apt-get update as root first)"}
        else:
            update_first = "yes"  # a bare container: no package lists yet
    env["CMX_SYS_UTIL_APT_UPDATE_FIRST"] = update_first

    cmd = _install_cmd(manager, package)
    sudo = "no"
    if manager != "brew" and os.geteuid() != 0:
        if shutil.which("sudo") and _quiet(["sudo", "-n", "true"])[0] == 0:
            sudo = "yes"  # password-less sudo: usable without a prompt
        else:
            has_sudo = bool(shutil.which("sudo"))
            steps = (["apt-get update"] if update_first == "yes" else []) + [cmd]
            how = " && ".join(f"sudo {s}" if has_sudo else s for s in steps)
            return {"return": 1, "error": f"{what} is not installed and cmx is not running as root "
                                          f"({'sudo needs a password' if has_sudo else 'no sudo'}); "
                                          f"install it {'' if has_sudo else 'as root '}with: {how}"}
    env["CMX_SYS_UTIL_SUDO"] = sudo
    env["CMX_SYS_UTIL_ACTION"] = "install"
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    name = env["CMX_SYS_UTIL_NAME"]
    command = env.get("CMX_SYS_UTIL_COMMAND") or None
    package = env.get("CMX_SYS_UTIL_PACKAGE") or None
    where = _present(command, env.get("CMX_SYS_UTIL_MANAGER", ""), package)
    if not where:
        return {"return": 1, "error": f"installed package '{package}' but '{command or package}' is still not found"
                                      + (" on PATH" if command else "")}
    path = where if command else ""
    env["CMX_SYS_UTIL_PATH"] = path
    env[f"CMX_SYS_UTIL_{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_').upper()}_PATH"] = path
    return {"return": 0}
