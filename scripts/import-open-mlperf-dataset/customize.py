"""import-open-mlperf-dataset: the published data.parquet/data.json, mapped to our schema.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import import_published as preprocess  # noqa: F401
