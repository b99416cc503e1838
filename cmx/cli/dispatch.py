"""Route an input dict to its automation action (shared by the CLI and ``cmx.access``)."""

from __future__ import annotations

from typing import Any

from cmx import automation
from cmx.errors import UsageError

# "cmx explain --tags=..." and "cmx gc cache" read naturally; default automations per action
DEFAULT_AUTOMATION = {"run": "script", "explain": "script", "find": "script", "test": "script", "gc": "cache"}


def dispatch(i: dict[str, Any], ctx: automation.Context | None = None) -> dict[str, Any]:
    action = i.get("action")
    if not action:
        raise UsageError("no action given", hint="try: cmx run script --tags=detect,os   (or: cmx help)")
    name = i.get("automation") or DEFAULT_AUTOMATION.get(str(action))
    if not name:
        raise UsageError(f"'cmx {action}' needs an automation: one of {', '.join(automation.names())}")
    fn = automation.action(str(name), str(action))
    if i.get("help") or i.get("h"):
        import inspect

        text = inspect.getdoc(fn) or "(no description)"
        print(f"cmx {action} {name}: {text}")
        return {"return": 0, "help": text}
    if ctx is None:
        from cmx.api import Engine

        ctx = automation.Context(engine=Engine(), quiet=bool(i.get("quiet", False)),
                                 verbose=bool(i.get("v") or i.get("verbose")), json=bool(i.get("j") or i.get("json")))
    out = fn(i, ctx)
    out.setdefault("return", 0)
    return out
