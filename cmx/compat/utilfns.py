"""The helper functions CM/MLC ``customize.py`` files call through ``cmind.utils`` / ``mlc.utils`` (and
a repository's own ``utils``), written for cmx from their documented contract: each takes one dict and
returns ``{'return': 0, ...}`` or ``{'return': >0, 'error': ...}``. Only the helpers that the
MLCommons repositories actually call are here (docs/compat.md#customizepy)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import uuid
from typing import Any

TRUE = ("yes", "true", "on", "1")


def _one_dict(fn: Any) -> Any:
    """CM passes one dict; MLC keyword arguments, or the file name (and the content) positionally."""
    import functools

    @functools.wraps(fn)
    def wrapper(i: dict[str, Any] | str | None = None, content: Any = None, **kwargs: Any) -> Any:
        if isinstance(i, (str, os.PathLike)):
            i = {"file_name": os.fspath(i)}
            if content is not None:
                i["string" if fn.__name__ == "save_txt" else "meta"] = content
        return fn({**(i or {}), **kwargs})

    return wrapper


def is_true(value: Any) -> bool:
    return str(value).strip().lower() in TRUE


def is_false(value: Any) -> bool:
    return str(value).strip().lower() in ("no", "false", "off", "0", "")


def check_if_true_yes_on(env: dict[str, Any], key: str) -> bool:
    return is_true(env.get(key, ""))


def _missing(i: dict[str, Any], name: str) -> dict[str, Any] | None:
    if i.get("check_if_exists") and not os.path.isfile(name):
        return {"return": 16, "error": f"file {name} not found"}
    return None


@_one_dict
def load_txt(i: dict[str, Any]) -> dict[str, Any]:
    name = str(i["file_name"])
    miss = _missing(i, name)
    if miss:
        return miss
    try:
        with open(name, encoding=i.get("encoding") or "utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        return {"return": 16 if isinstance(exc, FileNotFoundError) else 1, "error": f"cannot read {name}: {exc}"}
    out: dict[str, Any] = {"return": 0, "string": text}
    if i.get("split"):
        out["list"] = [line.strip() if i.get("strip") else line for line in text.split("\n")]
    if i.get("match_text"):
        import re

        m = re.search(str(i["match_text"]), text)
        out["match"] = m
        if m is None and i.get("fail_if_no_match"):
            return {"return": 1, "error": str(i["fail_if_no_match"])}
    if i.get("remove_after_read"):
        os.remove(name)
    return out


@_one_dict
def save_txt(i: dict[str, Any]) -> dict[str, Any]:
    with open(str(i["file_name"]), "w", encoding="utf-8") as fh:
        fh.write(str(i.get("string", "")))
    return {"return": 0}


@_one_dict
def load_json(i: dict[str, Any]) -> dict[str, Any]:
    r = load_txt({**i, "split": False, "match_text": None})
    if r["return"]:
        return r
    try:
        return {"return": 0, "meta": json.loads(r["string"])}
    except ValueError as exc:
        return {"return": 1, "error": f"{i['file_name']}: invalid JSON: {exc}"}


@_one_dict
def save_json(i: dict[str, Any]) -> dict[str, Any]:
    with open(str(i["file_name"]), "w", encoding="utf-8") as fh:
        json.dump(i.get("meta", {}), fh, indent=2, sort_keys=bool(i.get("sort_keys")))
    return {"return": 0}


@_one_dict
def load_yaml(i: dict[str, Any]) -> dict[str, Any]:
    import yaml

    r = load_txt({**i, "split": False, "match_text": None})
    if r["return"]:
        return r
    return {"return": 0, "meta": yaml.safe_load(r["string"]) or {}}


@_one_dict
def save_yaml(i: dict[str, Any]) -> dict[str, Any]:
    import yaml

    with open(str(i["file_name"]), "w", encoding="utf-8") as fh:
        yaml.safe_dump(i.get("meta", {}), fh, sort_keys=bool(i.get("sort_keys")))
    return {"return": 0}


def load_yaml_and_json(file_name_without_ext: str) -> dict[str, Any]:
    for ext, fn in ((".yaml", load_yaml), (".json", load_json)):
        if os.path.isfile(file_name_without_ext + ext):
            return fn({"file_name": file_name_without_ext + ext})
    return {"return": 16, "error": f"{file_name_without_ext}.yaml/.json not found"}


@_one_dict
def merge_dicts(i: dict[str, Any]) -> dict[str, Any]:
    """Merge ``dict2`` into ``dict1`` in place, recursively; lists are appended (``append_lists``)
    or replaced, and with ``append_unique`` only new items are appended."""
    a, b = i["dict1"], i["dict2"]
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge_dicts({**i, "dict1": a[k], "dict2": v})
        elif isinstance(v, list) and isinstance(a.get(k), list) and i.get("append_lists"):
            a[k] = a[k] + [x for x in v if not (i.get("append_unique") and x in a[k])]
        else:
            a[k] = v
    return {"return": 0, "merged": a}


@_one_dict
def get_current_date_time(i: dict[str, Any]) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"return": 0, "iso_datetime": now.isoformat(), "datetime": now}


def gen_uid() -> dict[str, Any]:
    return {"return": 0, "uid": uuid.uuid4().hex[:16]}


@_one_dict
def run_system_cmd(i: dict[str, Any]) -> str:
    """The stripped stdout of ``i['cmd']``, an argument list or a command run by the shell as
    the recipe wrote it (its own code, never a user-supplied value)."""
    cmd = i["cmd"]
    proc = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True)
    return proc.stdout.strip()


def debug_here(*_args: Any, **_kwargs: Any) -> Any:
    """CM attaches a remote debugger here; cmx does not: a no-op that callers may chain on."""

    class _NoDebugger:
        def breakpoint(self) -> None:
            return None

    return _NoDebugger()
