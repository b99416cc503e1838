"""The Open MLPerf Dataset in cmx: MLPerf inference rounds, FlexBench runs, the published
dataset (FlexAI and MLCommons, Apache-2.0) and contributions in one versioned table.

A layer above ``cmx/`` (as ``flexbench/`` is). Importers, export and contribution bundles
are called by recipes in ``scripts/``; this module is also the Python API::

    import openmlperf
    table = openmlperf.query('select "model.name", avg("metrics.result") from results group by 1')
    df = table.to_pandas()            # a pyarrow.Table; pandas when installed

pyarrow and duckdb are imported only when a function needs them. See docs/dataset.md.
"""

from __future__ import annotations

from typing import Any

from openmlperf.schema import COLUMNS, PUBLISHED_COLUMNS, SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "COLUMNS", "PUBLISHED_COLUMNS", "query", "connect", "dataset_dir"]


def query(sql: str, dataset_dir: Any = None):
    """Run ``sql`` over the stored dataset (the table is ``results``); a ``pyarrow.Table``."""
    from openmlperf.sql import query as _query

    return _query(sql, dataset_dir)


def connect(dataset_dir: Any = None):
    """A DuckDB connection with the ``results`` view, for repeated queries."""
    from openmlperf.sql import connect as _connect

    return _connect(dataset_dir)


def dataset_dir(dataset_dir: Any = None):
    """The dataset folder that ``dataset_dir`` (or the default) names."""
    from openmlperf.storage import resolve_dir

    return resolve_dir(dataset_dir)
