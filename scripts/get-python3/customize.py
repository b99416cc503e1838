"""get-python3: find the interpreter, ask it about itself, export what it says.

The interpreter is the one given by --python (a path or a command name on PATH),
else the one cmx runs with. It is run once with a small introspection program;
nothing is guessed from its file name.
"""

import json
import os
import shutil
import subprocess
import sys

# Runs inside the interpreter under test: standard library only, Python 3.
_INTROSPECT = r"""
import importlib.util, json, os, platform, sys, sysconfig
paths = sysconfig.get_paths()
def has(mod):
    try:
        return importlib.util.find_spec(mod) is not None
    except Exception:
        return False
include = paths.get("include") or ""
print(json.dumps({
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "bits": 64 if sys.maxsize > 2 ** 32 else 32,
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "stdlib": paths.get("stdlib") or "",
    "purelib": paths.get("purelib") or "",
    "include": include,
    "has_headers": bool(include) and os.path.isfile(os.path.join(include, "Python.h")),
    "libdir": sysconfig.get_config_var("LIBDIR") or "",
    "ldlibrary": sysconfig.get_config_var("LDLIBRARY") or "",
    "has_pip": has("pip"),
    "has_venv": has("venv") and has("ensurepip"),
    "build": ", ".join(platform.python_build()) + ", " + platform.python_compiler(),
    "base_executable": getattr(sys, "_base_executable", "") or "",
}))
"""

_TIMEOUT_S = 60


def _yes(flag):
    return "yes" if flag else "no"


def _locate(requested):
    """Absolute path of the interpreter (symlinks kept: a venv's python must stay in its venv)."""
    if not requested:
        return sys.executable, None
    expanded = os.path.expanduser(str(requested))
    if os.sep in expanded:
        path = os.path.abspath(expanded)
        if not os.path.exists(path):
            return None, f"no Python interpreter at {path} (given by --python)"
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            return None, f"{path} (given by --python) is not an executable file"
        return path, None
    found = shutil.which(expanded)
    if not found:
        return None, f"no command '{expanded}' on PATH (given by --python); give the interpreter's full path"
    return os.path.abspath(found), None


def _introspect(path):
    """(facts, None) or (None, error) from running the introspection program in ``path``."""
    try:
        proc = subprocess.run([path, "-I", "-c", _INTROSPECT], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"{path} did not answer within {_TIMEOUT_S}s when asked for its version"
    except OSError as exc:
        return None, f"cannot run {path}: {exc.strerror or exc}"
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return None, (f"{path} is not a working Python 3 interpreter"
                      + (f" ({detail[-1][:200]})" if detail else ""))


def _base_of(path, info):
    """The interpreter a venv's python was made from (the venv module uses it anyway), as a real path."""
    if os.path.realpath(info["prefix"]) == os.path.realpath(info["base_prefix"]):
        return os.path.realpath(path)
    base = info.get("base_executable") or ""
    if not base or not os.path.isfile(base):
        version = ".".join(str(v) for v in info["version_info"][:2])
        candidates = [os.path.join(info["base_prefix"], "bin", f"python{version}"),
                      os.path.join(info["base_prefix"], "bin", "python3")]
        base = next((c for c in candidates if os.path.isfile(c)), "")
    return os.path.realpath(base) if base else None


def preprocess(i):
    env = i["env"]
    path, error = _locate(env.get("CMX_PYTHON_BIN_WITH_PATH"))
    if error:
        return {"return": 1, "error": error}
    info, error = _introspect(path)
    if error:
        return {"return": 1, "error": error}
    if str(env.get("CMX_PYTHON_BASE", "")).lower() == "yes":
        # _base: the base interpreter, so that every venv built on the same interpreter (two checkouts'
        # .venv, a wheel install ...) gives the same facts, hence the same venv cache keys
        base = _base_of(path, info)
        if base is None:
            return {"return": 1, "error": f"cannot find the base interpreter of the venv python {path}"}
        if base != path:
            i["logger"].info("using %s, the base interpreter of %s", base, path)
            path = base
            info, error = _introspect(path)
            if error:
                return {"return": 1, "error": error}
    if info["version_info"][0] != 3:
        return {"return": 1, "error": f"{path} is Python {info['version']}, not Python 3"}

    wanted = i.get("version")
    if wanted and not _same_release(info["version"], str(wanted)):
        return {"return": 1, "error": f"Python at {path} is {info['version']}, not the requested version {wanted} "
                                      "(give --python=PATH of such an interpreter)"}

    major, minor, patch = (str(x) for x in info["version_info"])
    env["CMX_PYTHON_BIN_WITH_PATH"] = path
    env["CMX_PYTHON_BIN"] = os.path.basename(path)
    env["CMX_PYTHON_BIN_PATH"] = os.path.dirname(path)
    env["CMX_PYTHON_VERSION"] = info["version"]
    env["CMX_PYTHON_MAJOR_VERSION"] = major
    env["CMX_PYTHON_MINOR_VERSION"] = minor
    env["CMX_PYTHON_PATCH_VERSION"] = patch
    env["CMX_PYTHON_IMPLEMENTATION"] = info["implementation"]
    env["CMX_PYTHON_BUILD"] = info["build"]
    env["CMX_PYTHON_BITS"] = str(info["bits"])
    env["CMX_PYTHON_PREFIX"] = info["prefix"]
    env["CMX_PYTHON_BASE_PREFIX"] = info["base_prefix"]
    env["CMX_PYTHON_IS_VENV"] = _yes(os.path.realpath(info["prefix"]) != os.path.realpath(info["base_prefix"]))
    env["CMX_PYTHON_STDLIB_PATH"] = info["stdlib"]
    env["CMX_PYTHON_SITE_PACKAGES_PATH"] = info["purelib"]
    env["CMX_PYTHON_INCLUDE_PATH"] = info["include"]
    env["CMX_PYTHON_HAS_HEADERS"] = _yes(info["has_headers"])
    env["CMX_PYTHON_LIB_PATH"] = info["libdir"]
    env["CMX_PYTHON_LIBRARY"] = info["ldlibrary"]
    env["CMX_PYTHON_HAS_PIP"] = _yes(info["has_pip"])
    env["CMX_PYTHON_HAS_VENV"] = _yes(info["has_venv"])
    i["logger"].info("found Python %s at %s", info["version"], path)
    return {"return": 0}


def postprocess(i):
    # The engine checks this against --version_min / --version_max.
    return {"return": 0, "version": i["env"]["CMX_PYTHON_VERSION"]}


def _same_release(found, wanted):
    """'3.11' admits 3.11.7; '3.11.7' admits only 3.11.7."""
    f = found.split(".")
    w = wanted.strip().split(".")
    return f[: len(w)] == w
