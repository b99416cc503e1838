"""detect-os: derive the package manager and its commands from what run.sh found."""

import shutil

_MANAGERS = [
    # (executable, install command, update command)
    ("apt-get", "apt-get install -y", "apt-get update -y"),
    ("dnf", "dnf install -y", "dnf makecache"),
    ("yum", "yum install -y", "yum makecache"),
    ("zypper", "zypper install -y", "zypper refresh"),
    ("pacman", "pacman -S --noconfirm", "pacman -Sy"),
    ("apk", "apk add", "apk update"),
    ("brew", "brew install", "brew update"),
]


def postprocess(i):
    env = i["env"]
    if env.get("CMX_HOST_OS_TYPE") == "darwin":
        env.setdefault("CMX_HOST_OS_FLAVOR", "macos")
    for exe, install, update in _MANAGERS:
        if shutil.which(exe):
            env["CMX_HOST_OS_PACKAGE_MANAGER"] = exe.replace("-get", "")
            env["CMX_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD"] = install
            env["CMX_HOST_OS_PACKAGE_MANAGER_UPDATE_CMD"] = update
            break
    else:
        env["CMX_HOST_OS_PACKAGE_MANAGER"] = ""
    return {"return": 0}
