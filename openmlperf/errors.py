"""The errors of ``openmlperf``, inside cmx's one hierarchy (``cmx/errors.py``).

``DatasetError`` (exit 2) is bad input: a missing file, an unknown format, a bad flag
value, a row that does not fit the schema. ``ImportIncomplete`` and ``BundleRejected``
(exit 1) say that an operation ran but could not take everything it was given.
"""

from __future__ import annotations

from cmx.errors import EXIT_FAILED, CmxError


class DatasetError(CmxError):
    """Bad input for the dataset: names the file, flag or row."""


class SchemaError(DatasetError):
    """A row does not fit the schema (wrong type, missing identity field)."""


class ImportIncomplete(CmxError):
    """Some rows of a source were skipped; the others were imported."""

    exit_code = EXIT_FAILED


class BundleRejected(CmxError):
    """A contribution bundle failed validation; nothing of it was merged."""

    exit_code = EXIT_FAILED
