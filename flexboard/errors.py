"""The errors of ``flexboard``, inside cmx's one hierarchy (``cmx/errors.py``): ``FlexBoardError``
is bad input (exit 2): a flag, a config, a price, a model with no data."""

from __future__ import annotations

from cmx.errors import CmxError


class FlexBoardError(CmxError):
    """Bad input for the predictor, the recommender or the board: names the flag or file."""
