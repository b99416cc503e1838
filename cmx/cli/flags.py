"""CM-style command-line parsing into the input dict of an action.

``--k=v`` sets a value, ``--a.b.c=v`` nests (``--env.K=V``, ``--adr.NAME.tags=_x``),
``--k,=a,b`` makes a list, a bare ``--flag`` is True, hyphens in the first part
of a flag name become underscores, ``@file.json|yaml`` merges inputs from a
file, and short flags are ``-j`` (JSON out), ``-v`` (verbose), ``-q`` (quiet),
``-n`` (dry run), ``-f`` (force) and ``-h`` (help). Which flags an action accepts,
and their types, is checked later against its declared table (cmx.flagspec).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmx.errors import UsageError

# flags that also take their value as the next word: --jobs 4, --lock FILE, --frozen FILE
VALUE_FLAGS = {"jobs", "lock", "frozen"}
SHORT = {"j": "j", "v": "v", "q": "quiet", "s": "quiet", "n": "dry_run", "f": "f", "h": "help"}


def _set(d: dict[str, Any], path: list[str], value: Any, flag: str) -> None:
    node = d
    for part in path[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise UsageError(f"flag {flag} conflicts with an earlier --{part}=...")
        node = nxt
    node[path[-1]] = value


def parse_argv(argv: list[str]) -> dict[str, Any]:
    i: dict[str, Any] = {}
    positionals: list[str] = []
    k = 0
    while k < len(argv):
        arg = argv[k]
        k += 1
        if arg == "--":
            positionals += argv[k:]
            break
        if arg.startswith("--") and len(arg) > 2:
            body = arg[2:]
            key, eq, raw = body.partition("=")
            value: Any = raw if eq else True
            if key.endswith(","):
                key = key[:-1]
                value = [v for v in str(raw).split(",") if v] if eq else []
            if not key:
                raise UsageError(f"bad flag '{arg}'")
            path = key.split(".")
            if any(not p for p in path):
                raise UsageError(f"bad flag '{arg}': empty name between dots")
            path[0] = path[0].replace("-", "_")
            if path[0] in VALUE_FLAGS and len(path) == 1 and not eq and k < len(argv) and not argv[k].startswith("-"):
                value = argv[k]
                k += 1
            _set(i, path, value, arg)
        elif arg.startswith("-") and len(arg) > 1 and not arg[1].isdigit():
            for ch in arg[1:]:
                if ch not in SHORT:
                    raise UsageError(f"unknown short flag -{ch} in '{arg}'",
                                     hint="short flags: -j (JSON), -v (verbose), -q/-s (quiet), -n (dry run), -f (force), -h (help)")
                i[SHORT[ch]] = True
        elif arg.startswith("@") and len(arg) > 1:
            i.update(_load_file(Path(arg[1:])))
        else:
            positionals.append(arg)
    if positionals:
        i["action"] = positionals[0]
    if len(positionals) > 1:
        i["automation"] = positionals[1]
    if len(positionals) > 2:
        i["artifacts"] = positionals[2:]
        i["artifact"] = positionals[2]
    return i


def _load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read input file @{path}: {exc.strerror}") from exc
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise UsageError(f"input file @{path} does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"input file @{path} must hold a mapping")
    return data
