"""import-flexbench-results: FlexBench result.json files (and the logs beside them), with provenance.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import import_flexbench as preprocess  # noqa: F401
