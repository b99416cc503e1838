from __future__ import annotations

import re
from pathlib import Path

import pytest

from openmlperf import schema
from openmlperf.errors import SchemaError

DOC = Path(__file__).resolve().parents[2] / "docs" / "dataset.md"


def _row(**over):
    rid, ident = schema.identity(round="v4.1", benchmark="resnet")
    row = {"result.id": rid, "result.identity": ident, "benchmark.name": "mlperf-inference",
           "submission.scenario": "Offline", "submission.mode": "performance",
           "provenance.source_kind": "mlperf-round", "provenance.source": "/x", "schema_version": 1}
    row.update(over)
    return row


def test_field_names_are_unique_and_published_columns_come_first():
    assert len(set(schema.COLUMNS)) == len(schema.COLUMNS)
    assert len(schema.PUBLISHED_COLUMNS) == 48
    assert schema.COLUMNS[:48] == schema.PUBLISHED_COLUMNS


def test_published_columns_are_those_of_the_published_file(published_parquet):
    import pyarrow.parquet as pq

    assert set(pq.read_schema(published_parquet).names) == set(schema.PUBLISHED_COLUMNS)


def test_every_field_is_documented_with_its_unit_column():
    text = DOC.read_text(encoding="utf-8")
    fields = text.split("## Schema", 1)[1].split("\n## Identity and deduplication", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", fields, re.M))
    missing = [c for c in schema.COLUMNS if c not in documented]
    assert not missing, f"fields missing from docs/dataset.md: {missing}"
    extra = documented - set(schema.COLUMNS)
    assert not extra, f"docs/dataset.md documents fields the schema lacks: {sorted(extra)}"


def test_validate_coerces_and_fills_every_column():
    out = schema.validate(_row(**{"metrics.result": "12.5", "system.number_of_nodes": 2.0}))
    assert out["metrics.result"] == 12.5 and out["system.number_of_nodes"] == 2
    assert set(out) == set(schema.COLUMNS)


@pytest.mark.parametrize("over,needle", [
    ({"metrics.result": "fast"}, "metrics.result"),
    ({"metrics.valid": "yes"}, "metrics.valid"),
    ({"result.id": None}, "result.id"),
    ({"submission.scenario": "Batch"}, "submission.scenario"),
    ({"provenance.source_kind": "rumour"}, "provenance.source_kind"),
    ({"metrics.bogus": 1}, "metrics.bogus"),
    ({"schema_version": 99}, "schema_version"),
    ({"metrics.result": float("inf")}, "metrics.result"),
])
def test_validate_names_the_bad_field(over, needle):
    with pytest.raises(SchemaError, match=re.escape(needle)):
        schema.validate(_row(**over), "file.json:3")


def test_identity_is_stable_and_distinguishes_fields():
    a = schema.identity(round="v4.1", system="s", benchmark="b", scenario="Offline")
    assert a == schema.identity(scenario="Offline", benchmark="b", system="s", round="v4.1")
    assert a != schema.identity(round="v4.1", system="s", benchmark="b", scenario="Server")
    assert re.fullmatch(r"[0-9a-f]{16}", a[0])


def test_arrow_schema_carries_the_version():
    s = schema.arrow_schema()
    assert s.metadata[schema.META_KEY] == str(schema.SCHEMA_VERSION).encode()
    assert s.names == list(schema.COLUMNS)
