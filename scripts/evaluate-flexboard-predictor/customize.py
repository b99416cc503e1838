"""evaluate-flexboard-predictor: our MAPE vs the baseline's, and interval coverage (docs/flexboard.md)."""

from flexboard.recipes import evaluate as preprocess  # noqa: F401
