"""A stand-in for the ``cmind`` package (MLCommons CM) so that a recipe's ``import cmind`` works in cmx
without installing it: ``utils`` and ``access`` (which runs the request through cmx). Used only when
the real package is not installed (``pip install cmx[cm]`` installs it)."""

from typing import Any

from . import utils  # noqa: F401

__version__ = "0+cmx"


def access(i: Any) -> dict[str, Any]:
    import cmx

    return cmx.access(i)
