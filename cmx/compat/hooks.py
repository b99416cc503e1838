"""CM's and MLC's ``customize.py`` contract for recipes of CM/MLC repositories: the import
environment (``cmind``/``mlc`` and the repository's own ``utils``), the ``i`` dict (``os_info``,
``run_script_input``, ``automation`` with the helpers those repositories call), the ``CM_TMP_*`` /
``MLC_TMP_*`` env, and hooks run in the work folder. The engine calls ``is_foreign``, ``importing``,
``adapt`` and ``in_work_dir`` (cmx/execute/customize.py, cmx/execute/phases.py)."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import platform
import re
import struct
import sys
import threading
import types
from pathlib import Path
from typing import Any, Iterator

SHIMS = str(Path(__file__).parent / "shims")
# set for the hooks and the run script of a CM/MLC recipe, never exported (cmx/execute/phases.py)
TMP_KEYS = ("CM_TMP_CURRENT_SCRIPT_PATH", "CM_TMP_CURRENT_PATH", "CM_TMP_CURRENT_SCRIPT_WORK_PATH",
            "MLC_TMP_CURRENT_SCRIPT_PATH", "MLC_TMP_CURRENT_PATH", "MLC_TMP_CURRENT_SCRIPT_WORK_PATH")
_cwd_lock = threading.RLock()  # the working directory is the process's: one CM/MLC hook at a time


def is_foreign(recipe_dir: Path) -> bool:
    """A recipe of a CM/MLC repository (CM's layout: ``script/<alias>/``)."""
    return recipe_dir.parent.name == "script"


def _repo_utils(recipe_dir: Path) -> types.ModuleType | None:
    """The repository's own ``utils`` module (MLC: ``automation/utils.py``, or ``script/utils.py``)."""
    for candidate in (recipe_dir.parent.parent / "automation" / "utils.py", recipe_dir.parent / "utils.py"):
        if candidate.is_file():
            from cmx.execute.customize import load_source

            return load_source(candidate, prefix="cmx_repo_utils_")
    return None


@contextlib.contextmanager
def importing(recipe_dir: Path) -> Iterator[None]:
    """While a CM/MLC ``customize.py`` is imported: ``cmind``/``mlc`` resolve (the installed packages
    first, else cmx's stand-ins) and ``utils`` is the repository's own module."""
    if SHIMS not in sys.path:
        sys.path.append(SHIMS)  # last: an installed cmind/mlc wins
    saved = sys.modules.get("utils")
    own = _repo_utils(recipe_dir)
    if own is not None:
        sys.modules["utils"] = own
    try:
        yield
    finally:
        if own is not None:
            if saved is None:
                sys.modules.pop("utils", None)
            else:
                sys.modules["utils"] = saved


@contextlib.contextmanager
def in_work_dir(work_dir: Path) -> Iterator[None]:
    """CM runs hooks in the work folder (``os.getcwd()``, relative ``tmp-*`` files)."""
    with _cwd_lock:
        before = os.getcwd()
        os.chdir(work_dir)
        try:
            yield
        finally:
            os.chdir(before)


def os_info() -> dict[str, Any]:
    """CM's ``i['os_info']`` for this host (POSIX; cmx runs no ``.bat``)."""
    system = platform.system().lower()
    bits = "64" if sys.maxsize > 2**32 else "32"
    return {
        "platform": "darwin" if system == "darwin" else "linux" if system != "windows" else "windows",
        "bits": "64" if platform.machine().endswith("64") else bits,
        "python_bits": str(struct.calcsize("P") * 8),
        "env_separator": os.pathsep, "env_var": "${env_var}", "set_env": "export ${key}=\"${value}\"",
        "start_script": ["#!/bin/bash", ""], "script_ext": ".sh", "bat_ext": ".sh", "file_ext": "",
        "run_bat": "bash ${bat_file}", "run_local_bat": "bash ./${bat_file}",
        "run_local_bat_from_python": "bash ./", "add_path": "export PATH=${path}:$PATH",
        "env_quote": "\"", "obj_ext": ".o", "dll_ext": ".so", "lib_ext": ".a", "redirect_stdout": ">",
        "system": system, "arch": platform.machine().lower(),
    }


def tmp_env(recipe_dir: Path, work_dir: Path, caller_dir: str) -> dict[str, str]:
    values = (str(recipe_dir), caller_dir, str(work_dir))
    return {k: values[n % 3] for n, k in enumerate(TMP_KEYS)}


class Automation:
    """``i['automation']`` for a CM/MLC hook: the helpers the MLCommons repositories call on it
    (measured in docs/compat.md#customizepy), plus ``cmind``/``action_object`` with ``access``."""

    def __init__(self, i: dict[str, Any], module: types.ModuleType | None, logger: logging.Logger,
                 work_dir: Path, log_path: Path) -> None:
        self._i = i
        self._module = module
        self.logger = logger
        self._work_dir = work_dir
        self._log_path = log_path
        self.cmind = self.action_object = _Access(logger)
        self.path = str(Path(i["recipe_path"]).parent)

    # -- native scripts -----------------------------------------------------------------
    def run_native_script(self, i: dict[str, Any]) -> dict[str, Any]:
        """Run ``<script_name>.sh`` of the recipe (``run_script_input['path']``) with ``env``, in the
        work folder; its ``tmp-run-env.out`` is merged into ``env``."""
        from cmx.envutil import merge_env
        from cmx.execute import script

        rsi = i.get("run_script_input") or {}
        env = i.get("env") if i.get("env") is not None else rsi.get("env", {})
        name = str(i.get("script_name") or rsi.get("script_name") or "run")
        found = script.find_script(Path(rsi.get("path") or self._i["recipe_path"]), name)
        if found is None:
            return {"return": 16, "error": f"no {name}.sh in {rsi.get('path') or self._i['recipe_path']}"}
        work = Path(os.getcwd())
        for stale in ("tmp-run-env.out", "tmp-run-state.json"):
            with contextlib.suppress(FileNotFoundError):
                (work / stale).unlink()
        text, secrets = script.render(found, work, env, f"native script {found.name}", cm_quoting=True)
        code = script.run(text, work, secrets, self._log_path, None)
        if code != 0:
            return {"return": 2, "error": f"native script {found.name} failed with {script.describe_exit(code)}"}
        out_env, _ = script.read_outputs(work)
        merge_env(env, out_env)
        return {"return": 0}

    def parse_version(self, i: dict[str, Any]) -> dict[str, Any]:
        """The version matched by ``match_text`` (group ``group_number``) in ``version_file``
        (default ``tmp-ver.out``), stored in ``which_env[env_key]``."""
        name = str(i.get("version_file") or "tmp-ver.out")
        try:
            text = Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return {"return": 1, "error": f"cannot read {name}: {exc.strerror or exc}"}
        m = re.search(str(i["match_text"]), text)
        if m is None:
            return {"return": 1, "error": f"no version matching {i['match_text']!r} in {name}"}
        version = m.group(int(i.get("group_number", 1) or 0))
        key = i.get("env_key")
        which = i.get("which_env")
        if key and isinstance(which, dict):
            which[key] = version
        return {"return": 0, "version": version}

    def find_artifact(self, i: dict[str, Any]) -> dict[str, Any]:
        """Find ``file_name`` in the folders of ``env[default_path_env_key]`` (else ``PATH``), or at
        ``env[env_path_key]`` if set; store the full path there. With ``detect_version``, the recipe's
        ``detect_version(i)`` runs on the candidate. Return code 16: not found."""
        env = i.get("env") if i.get("env") is not None else self._i["env"]
        file_name = str(i["file_name"])
        path_key = str(i.get("env_path_key") or "")
        given = str(env.get(path_key) or "") if path_key else ""
        if given:
            candidates = [given] if os.path.isfile(given) else glob.glob(os.path.join(given, file_name))
        else:
            folders = str(env.get(str(i.get("default_path_env_key") or "PATH")) or os.environ.get("PATH", ""))
            candidates = [c for d in folders.split(os.pathsep) if d for c in sorted(glob.glob(os.path.join(d, file_name)))]
        candidates = [c for c in candidates if os.path.isfile(c)]
        if not candidates:
            return {"return": 16, "error": f"{file_name} not found"}
        path = candidates[0]
        if path_key:
            env[path_key] = path
        out: dict[str, Any] = {"return": 0, "found_path": os.path.dirname(path), "found_file_path": path}
        if i.get("detect_version") and self._module is not None and hasattr(self._module, "detect_version"):
            # as cm does: the recipe's run script reports the candidate's version (tmp-ver.out), then
            # its detect_version hook parses it
            rsi = i.get("run_script_input") or self._i["run_script_input"]
            r = self.run_native_script({"run_script_input": rsi, "env": env,
                                        "script_name": rsi.get("script_name") or "run"})
            if r["return"]:
                return {**r, "return": 16}
            r = self._module.detect_version({**self._i, "env": env})
            if (r or {}).get("return", 0):
                return r
            out["version"] = (r or {}).get("version", "")
        return out

    def detect_version_using_script(self, i: dict[str, Any]) -> dict[str, Any]:
        """Run the recipe's ``get-version``-style script then its ``detect_version`` hook."""
        r = self.run_native_script({**i, "script_name": i.get("script_name") or "get-version"})
        if r["return"]:
            return {**r, "return": 16}
        if self._module is not None and hasattr(self._module, "detect_version"):
            return self._module.detect_version({**self._i, "env": i.get("env", self._i["env"])}) or {"return": 0}
        return {"return": 0}

    def get_default_path_list(self, i: dict[str, Any]) -> list[str]:
        """The folders searched by default (``PATH``), where found artifacts need no env of their own."""
        key = str(i.get("default_path_env_key") or "PATH")
        return [p for p in str(os.environ.get(key, "")).split(os.pathsep) if p]

    def _available_variations(self, i: dict[str, Any]) -> dict[str, Any]:
        """cm's answer when a recipe needs a variation and none was chosen: an error listing them."""
        names = sorted((i.get("meta") or {}).get("variations") or {})
        return {"return": 1, "error": "select a variation: " + ", ".join(f"_{n}" for n in names)}

    def update_deps(self, i: dict[str, Any]) -> dict[str, Any]:
        """CM changes dependencies that have not run yet; cmx planned them before anything ran, so a
        change that is not already in the plan is refused rather than silently ignored."""
        changes = i.get("update_deps") or {}
        if changes:
            return {"return": 1, "error": f"update_deps({sorted(changes)}) is not supported by cmx: dependencies "
                                          "are planned before preprocess runs (docs/compat.md)"}
        return {"return": 0}

    def clean_some_tmp_files(self, i: dict[str, Any]) -> dict[str, Any]:
        return {"return": 0}  # cmx keeps each step's tmp-* files in its own work folder

    def find_file_deep(self, i: dict[str, Any]) -> dict[str, Any]:
        for root, _dirs, files in os.walk(str(i["paths"][0] if isinstance(i.get("paths"), list) else i.get("path", "."))):
            if str(i["file_name"]) in files:
                return {"return": 0, "found_paths": [os.path.join(root, str(i["file_name"]))]}
        return {"return": 0, "found_paths": []}

    def find_file_back(self, i: dict[str, Any]) -> dict[str, Any]:
        path = Path(str(i.get("path") or os.getcwd())).resolve()
        for folder in (path, *path.parents):
            if (folder / str(i["file_name"])).exists():
                return {"return": 0, "found_path": str(folder)}
        return {"return": 0, "found_path": ""}


class _Access:
    """``automation.cmind`` / ``automation.action_object``: ``access`` runs a request through cmx."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def access(self, i: Any) -> dict[str, Any]:
        import cmx

        return cmx.access(i)


def adapt(i: dict[str, Any], module: types.ModuleType | None, recipe_dir: Path, work_dir: Path,
          log_path: Path, caller_dir: str) -> None:
    """Turn cmx's hook input into CM's: add what CM/MLC hooks read."""
    info = os_info()
    env = i["env"]
    env.update(tmp_env(recipe_dir, work_dir, caller_dir))
    i["os_info"] = info
    i["recursion_spaces"] = "  "
    i["artifact"] = None
    i["run_script_input"] = {
        "path": str(recipe_dir), "bat_ext": ".sh", "os_info": info, "recursion_spaces": "  ",
        "tmp_file_run": "tmp-run", "tmp_file_run_env": "tmp-run-env.out",
        "tmp_file_run_state": "tmp-run-state.json", "tmp_file_state": "tmp-state.json",
        "env": env, "state": i["state"], "script_name": "run", "run_state": {},
    }
    i["automation"] = Automation(i, module, i["logger"], work_dir, log_path)
