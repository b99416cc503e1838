"""query-dataset: SQL over the dataset; prints a table and puts the rows in the state (-j).
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import query as preprocess  # noqa: F401
