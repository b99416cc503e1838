"""import-mlperf-results: an MLPerf results repository (or the shared log samples), read from its raw logs.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import import_mlperf as preprocess  # noqa: F401
