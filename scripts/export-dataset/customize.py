"""export-dataset: data.parquet/data.csv/data.json, README.md (dataset card) and croissant.json.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import export as preprocess  # noqa: F401
