"""install-python-package: decide what pip must do, then check what it did.

preprocess  validates the request, builds the requirement (name==version or
            name+specifier; torch is pinned by default), and asks the venv's own
            python (importlib.metadata) whether a satisfying version is there.
run.sh      runs pip only when it is not (and says so when it is).
postprocess turns a pip failure into one clear line, then re-reads the
            installed version from the venv and exports it.
"""

import json
import os
import re
import subprocess

# Releases used when no version is asked for. torch: the CPU wheel that lies on
# this machine's disk (pip's find-links); an unpinned torch pulls a CUDA build of
# several GB. Ask for any other release explicitly with --version=.
_DEFAULT_PINS = {"torch": "2.13.0"}

_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[A-Za-z0-9._-]+\])?$")
_VERSION = re.compile(r"^[A-Za-z0-9.*+!_-]+$")
_SPECIFIER = re.compile(r"^\s*(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+)*\s*$")
_TRUE = ("yes", "true", "1", "on")

# Runs in the target venv's python: is the distribution there, which version,
# and does it satisfy the specifier (with pip's own vendored 'packaging').
_PROBE = r"""
import json, sys
import importlib.metadata as md
name, spec = sys.argv[1], sys.argv[2]
try:
    dist = md.distribution(name)
except md.PackageNotFoundError:
    print(json.dumps({"found": False}))
    raise SystemExit(0)
version = dist.version
ok = True
if spec:
    try:
        from pip._vendor.packaging.specifiers import SpecifierSet
        ok = SpecifierSet(spec).contains(version, prereleases=True)
    except ImportError:
        ok = spec == "==" + version
print(json.dumps({"found": True, "version": version, "name": dist.metadata["Name"] or name,
                  "location": str(dist.locate_file("")), "satisfied": ok}))
"""


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def env_suffix(name):
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def probe(python, name, spec):
    proc = subprocess.run([python, "-I", "-c", _PROBE, name, spec], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot query {python}: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def preprocess(i):
    env = i["env"]
    log = i["logger"]
    requested = str(env.get("CMX_PIP_PACKAGE") or "").strip()
    if not requested:
        return {"return": 1, "error": "which package? add _package.NAME to the tags "
                                      "(e.g. --tags=install,python-package,_package.six)"}
    m = _NAME.match(requested)
    if not m:
        return {"return": 1, "error": f"'{requested}' is not a package name pip can take from an index "
                                      "(letters, digits, '.', '_', '-', optionally [extra])"}
    name, extras = m.group(1), m.group(2) or ""

    version = str(i.get("version") or "").strip()
    specifier = str(env.get("CMX_PIP_SPECIFIER") or "").strip()
    if version and specifier:
        return {"return": 1, "error": "give --version=X or --specifier=RANGE, not both"}
    if version and not _VERSION.match(version):
        return {"return": 1, "error": f"--version={version} is not a version (use --specifier for ranges)"}
    if specifier and not _SPECIFIER.match(specifier):
        return {"return": 1, "error": f"--specifier={specifier} is not a pip version specifier like '>=1.2,<2'"}
    pinned = ""
    if not version and not specifier and canonical(name) in _DEFAULT_PINS:
        version = pinned = _DEFAULT_PINS[canonical(name)]
        log.info("%s: no version asked for; pinned to %s by default (give --version= for another)", name, version)
    spec = f"=={version}" if version else specifier.replace(" ", "")

    find_links = str(env.get("CMX_PIP_FIND_LINKS") or "").strip()
    if find_links and "://" not in find_links:
        find_links = os.path.abspath(os.path.expanduser(find_links))
        if not os.path.isdir(find_links):
            return {"return": 1, "error": f"--find_links={find_links}: no such folder"}
        env["CMX_PIP_FIND_LINKS"] = find_links
    for key in ("CMX_PIP_NO_DEPS", "CMX_PIP_NO_INDEX"):
        env[key] = "yes" if str(env.get(key, "")).lower() in _TRUE else "no"

    python = env.get("CMX_VENV_PYTHON") or ""
    if not python or not os.path.isfile(python):
        return {"return": 1, "error": f"the venv's python is missing ({python or 'CMX_VENV_PYTHON not set'})"}
    try:
        found = probe(python, name, spec)
    except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
        return {"return": 1, "error": str(exc)}

    env["CMX_PIP_REQUIREMENT"] = f"{name}{extras}{spec}"
    env["CMX_PIP_PROJECT"] = name
    env["CMX_PIP_PINNED"] = pinned
    env["CMX_PIP_FOUND_VERSION"] = found.get("version", "")
    # With extras, pip decides: the extras' dependencies may be missing even if the package is there.
    env["CMX_PIP_SATISFIED"] = "yes" if found["found"] and found["satisfied"] and not extras else "no"
    log.info("%s in %s: %s", name, python,
             f"found {found['version']}" + ("" if found["satisfied"] else f", does not satisfy {spec}")
             if found["found"] else "not installed")
    return {"return": 0}


def _pip_error(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return "pip failed (no output)"
    errors = [ln[len("ERROR: "):].strip() for ln in lines if ln.startswith("ERROR: ")]
    if errors:
        return errors[-1]
    tail = [ln.strip() for ln in lines if ln.strip()]
    return tail[-1][:300] if tail else "pip failed (no output)"


def _sources(env):
    bits = []
    if env.get("CMX_PIP_NO_INDEX") == "yes":
        bits.append("no index (--no-index)")
    if env.get("CMX_PIP_INDEX_URL"):
        bits.append(f"index {env['CMX_PIP_INDEX_URL']}")
    if env.get("CMX_PIP_EXTRA_INDEX_URL"):
        bits.append(f"extra index {env['CMX_PIP_EXTRA_INDEX_URL']}")
    if env.get("CMX_PIP_FIND_LINKS"):
        bits.append(f"find-links {env['CMX_PIP_FIND_LINKS']}")
    return ", ".join(bits) or "pip's configured indexes"


def postprocess(i):
    env = i["env"]
    requirement = env["CMX_PIP_REQUIREMENT"]
    venv = env.get("CMX_VENV_NAME", "?")
    code = str(env.get("CMX_PIP_EXIT_CODE", "0"))
    if code != "0":
        reason = _pip_error(os.path.join(i["run_path"], "pip.log"))
        return {"return": 1, "error": f"pip could not install {requirement} into venv '{venv}': {reason} "
                                      f"[searched: {_sources(env)}]"}
    spec = requirement[len(env["CMX_PIP_PROJECT"]):].split("]")[-1]
    try:
        found = probe(env["CMX_VENV_PYTHON"], env["CMX_PIP_PROJECT"], spec)
    except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
        return {"return": 1, "error": str(exc)}
    if not found["found"]:
        return {"return": 1, "error": f"pip finished but {env['CMX_PIP_PROJECT']} is not importable in venv '{venv}'"}
    if not found["satisfied"]:
        return {"return": 1, "error": f"{found['name']} {found['version']} is installed in venv '{venv}', "
                                      f"which does not satisfy {requirement}"}
    env["CMX_PYTHON_PACKAGE_NAME"] = found["name"]
    env["CMX_PYTHON_PACKAGE_VERSION"] = found["version"]
    env["CMX_PYTHON_PACKAGE_REQUIREMENT"] = requirement
    env["CMX_PYTHON_PACKAGE_LOCATION"] = found["location"]
    env["CMX_PYTHON_PACKAGE_ACTION"] = "already-installed" if env.get("CMX_PIP_SATISFIED") == "yes" else "installed"
    env[f"CMX_PYTHON_PACKAGE_{env_suffix(found['name'])}_VERSION"] = found["version"]
    # checked by the engine against --version_min / --version_max
    return {"return": 0, "version": found["version"]}
