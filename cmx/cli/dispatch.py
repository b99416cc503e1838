"""Route an input dict to its automation action (shared by the CLI and ``cmx.access``).

The action's declared flags (``cmx.flagspec``) are checked here, before it runs: an
unknown or malformed flag never reaches an action. ``--help``/``-h`` prints the
action's help instead of running it.
"""

from __future__ import annotations

from typing import Any

from cmx import automation
from cmx.errors import UsageError

# "cmx explain --tags=..." and "cmx gc cache" read naturally; default automations per action
DEFAULT_AUTOMATION = {"run": "script", "explain": "script", "find": "script", "test": "script", "gc": "cache"}


def resolve(i: dict[str, Any]) -> tuple[str, str]:
    """(action, automation) of an input dict, or a usage error."""
    action = i.get("action")
    if not action:
        raise UsageError("no action given", hint="try: cmx run script --tags=detect,os   (or: cmx help)")
    name = i.get("automation") or DEFAULT_AUTOMATION.get(str(action))
    if not name:
        raise UsageError(f"'cmx {action}' needs an automation: one of {', '.join(automation.names())}",
                         hint=f"e.g. cmx {action} {automation.names()[0]}; see `cmx help`")
    return str(action), str(name)


def dispatch(i: dict[str, Any], ctx: automation.Context | None = None) -> dict[str, Any]:
    from cmx.flagspec import spec_of, validate

    action, name = resolve(i)
    fn = automation.action(name, action)
    if i.get("help") or i.get("h"):
        from cmx.cli.help import action_help

        text = action_help(action, name, fn)
        if not i.get("quiet"):
            print(text)
        return {"return": 0, "help": text}
    spec = spec_of(fn)
    if spec is not None:
        i = validate(spec, i, f"cmx {action} {name}")
    if ctx is None:
        from cmx.api import Engine

        ctx = automation.Context(engine=Engine(), quiet=bool(i.get("quiet", False)),
                                 verbose=bool(i.get("v") or i.get("verbose")), json=bool(i.get("j") or i.get("json")))
    out = fn(i, ctx)
    out.setdefault("return", 0)
    return out
