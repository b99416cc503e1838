"""detect-flexboard-data: the training data's digest (docs/flexboard.md)."""

from flexboard.recipes import detect_data as preprocess  # noqa: F401
