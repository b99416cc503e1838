"""train-flexboard-predictor: fit the predictor into this cache entry (docs/flexboard.md)."""

from flexboard.recipes import train as preprocess  # noqa: F401
