"""cmx: composable, cached automation recipes in the style of MLCommons CM/CMX.

``cmx.access({...})`` takes and returns the same dict shapes as ``cmind.access``::

    cmx.access({"action": "run", "automation": "script", "tags": "detect,os"})
    -> {"return": 0, "new_env": {...}, "new_state": {...}, "cached": True, ...}

As in cmind, it also takes a command line as a string or a list of words
(``cmx.access("run script --tags=detect,os")``). It never raises.
"""

from __future__ import annotations

# typing is for the type checker only: importing it (with re, enum, collections) would lengthen the
# start-up time in which Ctrl-C gets Python's default (a traceback), before cmx.cli.main handles it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["access", "__version__"]


def access(i: Any) -> dict[str, Any]:
    """Run one action; never raises: a failure is ``{'return': code, 'error': text}``.

    ``i`` is an input dict, or a command line as a string or a list of words (without ``cmx``)."""
    try:
        return _access(i)
    except (Exception, SystemExit) as exc:  # the promise is "never raises" (Ctrl-C still interrupts the caller)
        from cmx.errors import CmxError

        if isinstance(exc, CmxError):
            return {"return": exc.exit_code, "error": str(exc), **getattr(exc, "json_extra", {})}
        if isinstance(exc, SystemExit):
            return {"return": exc.code if isinstance(exc.code, int) else 1, "error": f"exit: {exc.code}"}
        return {"return": 1, "error": f"internal error: {type(exc).__name__}: {exc}"}


def _access(i: Any) -> dict[str, Any]:
    from cmx.cli.dispatch import dispatch
    from cmx.errors import UsageError

    if isinstance(i, str):
        import shlex

        try:
            i = shlex.split(i)
        except ValueError as exc:
            raise UsageError(f"cmx.access: cannot split the command line: {exc}") from exc
    if isinstance(i, (list, tuple)):
        if not all(isinstance(w, str) for w in i):
            raise UsageError("cmx.access: a command line must be a list of strings")
        from cmx.cli.flags import parse_argv

        words = list(i)
        if words and words[0] == "cmx":
            words = words[1:]
        i = parse_argv(words)
        if i.get("out") == "json":
            i["j"] = True
    if not isinstance(i, dict):
        raise UsageError(f"cmx.access takes a dict, a command-line string or a list of words, not {type(i).__name__}",
                         hint='e.g. cmx.access({"action": "run", "automation": "script", "tags": "detect,os"})')
    if any(not isinstance(k, str) for k in i):
        raise UsageError("cmx.access: every key of the input dict must be a string")
    i = dict(i)
    i.setdefault("quiet", True)
    out = dispatch(i)
    out.pop("_memo", None)
    if "new_env" in out:  # cmind's names for the same things
        out.setdefault("env", out["new_env"])
        out.setdefault("state", out["new_state"])
        out.setdefault("deps", [row["recipe"] for row in out.get("plan", [])[:-1]])
    return out
