"""merge-contribution: checksums, schema, figures re-derived from the raw logs, then dedup.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import merge as preprocess  # noqa: F401
