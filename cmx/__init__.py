"""cmx: composable, cached automation recipes in the style of MLCommons CM/CMX.

``cmx.access({...})`` takes and returns the same dict shapes as ``cmind.access``::

    cmx.access({"action": "run", "automation": "script", "tags": "detect,os"})
    -> {"return": 0, "new_env": {...}, "new_state": {...}, "cached": True, ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["access", "__version__"]


def access(i: dict[str, Any]) -> dict[str, Any]:
    """Run one action; never raises for cmx errors: returns ``{'return': code, 'error': text}``."""
    from cmx.cli.dispatch import dispatch
    from cmx.errors import CmxError

    i = dict(i)
    i.setdefault("quiet", True)
    try:
        out = dispatch(i)
    except CmxError as exc:
        return {"return": exc.exit_code, "error": str(exc)}
    except Exception as exc:  # like cmind: an API call reports, it does not raise
        return {"return": 1, "error": f"internal error: {type(exc).__name__}: {exc}"}
    out.pop("_memo", None)
    if "new_env" in out:  # cmind's names for the same things
        out.setdefault("env", out["new_env"])
        out.setdefault("state", out["new_state"])
        out.setdefault("deps", [row["recipe"] for row in out.get("plan", [])[:-1]])
    return out
