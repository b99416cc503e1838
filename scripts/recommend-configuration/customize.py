"""recommend-configuration: measured and predicted configurations ranked by cost (docs/flexboard.md)."""

from flexboard.recipes import recommend as preprocess  # noqa: F401
