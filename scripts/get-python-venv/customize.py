"""get-python-venv: validate the venv's name before building; check the result after."""

import os
import re
import subprocess

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def preprocess(i):
    env = i["env"]
    name = str(env.get("CMX_VENV_NAME") or "")
    if not _NAME.match(name):
        return {"return": 1, "error": f"bad venv name '{name}': use letters, digits, '.', '_' or '-' (at most 64)"}
    if env.get("CMX_PYTHON_HAS_VENV") == "no":
        python = env.get("CMX_PYTHON_BIN_WITH_PATH", "python3")
        return {"return": 1, "error": f"{python} has no 'venv'/'ensurepip' module; on Debian/Ubuntu install "
                                      f"python3-venv (cmx run script --tags=get,sys-util,_name.python3-venv)"}
    flag = str(env.get("CMX_VENV_SYSTEM_SITE_PACKAGES", "no")).lower()
    if flag not in ("yes", "no", "true", "false", "1", "0", "on", "off"):
        return {"return": 1, "error": f"--system_site_packages={flag}: expected yes or no"}
    env["CMX_VENV_SYSTEM_SITE_PACKAGES"] = "yes" if flag in ("yes", "true", "1", "on") else "no"
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    python = env.get("CMX_VENV_PYTHON", "")
    if not os.path.isfile(python):
        return {"return": 1, "error": f"the venv was not created: no {python}"}
    proc = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    if proc.returncode != 0:
        return {"return": 1, "error": f"the new venv's python does not run: {proc.stderr.strip()[-200:]}"}
    env["CMX_VENV_PYTHON_VERSION"] = proc.stdout.strip()
    return {"return": 0, "version": env["CMX_VENV_PYTHON_VERSION"]}
