"""contribute-result: selected rows + their raw files + a manifest with sha256 checksums.
The work is in openmlperf (docs/dataset.md); this binds the recipe's hook to it."""

from openmlperf.recipes import contribute as preprocess  # noqa: F401
