"""Dispatch ``cmx ACTION AUTOMATION`` to ``automations/<name>/module.py``.

An automation module declares ``ACTIONS = {"run": fn, ...}``; each action takes
the CM-style input dict and a Context, returns a dict (``return`` is added) and
raises CmxError on failure. An action declares its flags with ``@declare``::

    @declare("Remove old entries.", Flag("older-than", "duration", "entries created before then",
             example="--older-than=30d"), example="cmx gc cache --older-than=30d")
    def gc(i, ctx): ...

The dispatcher validates the input dict against that table before the action
runs (unknown flag, missing value, bad duration/version: exit 2 naming the flag),
and ``-h``, ``cmx help`` and shell completion read it. That is the whole plugin surface.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from cmx.errors import UsageError
from cmx.flagspec import ActionSpec, Flag, declare, spec_keys, spec_of
from cmx.home import Home

__all__ = ["Context", "ActionSpec", "Flag", "declare", "spec_keys", "spec_of", "names", "load", "action"]

_loaded: dict[str, types.ModuleType] = {}


@dataclass
class Context:
    """What an action gets besides its input: the engine and where to print."""

    engine: Any
    quiet: bool = False
    verbose: bool = False
    json: bool = False
    echo: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))

    printed: list[str] = field(default_factory=list)  # what went to stdout (for a memoized replay)

    def say(self, text: str) -> None:
        """Human output: stdout normally, stderr when -j reserves stdout for JSON."""
        if self.quiet:
            return
        if self.json:
            print(text, file=sys.stderr)
        else:
            print(text)
            self.printed.append(text + "\n")


def names() -> list[str]:
    root = Home.automations_dir()
    return sorted(p.name for p in root.iterdir() if (p / "module.py").is_file())


def load(name: str) -> types.ModuleType:
    if name in _loaded:
        return _loaded[name]
    path = Home.automations_dir() / name / "module.py"
    if not path.is_file():
        import difflib

        close = difflib.get_close_matches(name, names(), n=1)
        raise UsageError(f"unknown automation '{name}' (known: {', '.join(names())})",
                         hint=f"did you mean '{close[0]}'?" if close else None)
    spec = importlib.util.spec_from_file_location(f"cmx_automation_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded[name] = module
    return module


def action(automation: str, action_name: str) -> Callable[[dict[str, Any], Context], dict[str, Any]]:
    module = load(automation)
    actions: dict[str, Callable[..., dict[str, Any]]] = getattr(module, "ACTIONS", {})
    fn = actions.get(action_name)
    if fn is None:
        import difflib

        close = difflib.get_close_matches(action_name, list(actions), n=1)
        raise UsageError(
            f"automation '{automation}' has no action '{action_name}' (it has: {', '.join(sorted(actions))})",
            hint=f"did you mean 'cmx {close[0]} {automation}'?" if close else None,
        )
    return fn
