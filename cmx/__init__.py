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
        out.pop("_memo", None)
        return out
    except CmxError as exc:
        return {"return": exc.exit_code, "error": str(exc)}
