"""A stand-in for the ``mlc`` package (MLCommons MLC, from mlcflow) so that a recipe's ``import mlc`` works in cmx
without installing it: ``utils`` and ``access`` (which runs the request through cmx). Used only when
the real package is not installed (``pip install cmx[mlc]`` installs it)."""

from typing import Any

from . import utils  # noqa: F401

__version__ = "0+cmx"


def access(i: Any) -> dict[str, Any]:
    import cmx

    return cmx.access(i)
