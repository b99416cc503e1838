"""predict-performance: the trained predictor on given configurations (docs/flexboard.md)."""

from flexboard.recipes import predict as preprocess  # noqa: F401
