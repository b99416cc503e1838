"""Export in the published shape: every published column equal to the published file's,
in Parquet, CSV and JSON; Croissant metadata that mlcroissant validates and reads."""

from __future__ import annotations

import csv
import hashlib
import json
import math

import pytest

from openmlperf import export, schema
from openmlperf.errors import DatasetError
from openmlperf.importers import mlperf, published


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.fixture
def exported(published_parquet, ds, tmp_path):
    published.import_file(published_parquet, ds)
    return export.export(tmp_path / "out", dataset_dir=ds)


def test_export_has_every_published_column_with_equal_values(published_parquet, exported):
    import pyarrow.parquet as pq

    source = {r["submission.debug_uid"]: r for r in pq.read_table(published_parquet).to_pylist()}
    as_parquet = pq.read_table(exported.files["parquet"]).to_pylist()
    as_json = json.loads(exported.files["json"].read_text())
    with open(exported.files["csv"], newline="") as fh:
        as_csv = list(csv.DictReader(fh))
    assert len(as_parquet) == len(as_json) == len(as_csv) == len(source) == 847
    for rows in (as_parquet, as_json):
        for r in rows:
            ref = source[r["submission.debug_uid"]]
            bad = [c for c in schema.PUBLISHED_COLUMNS if not _same(ref[c], r[c])]
            assert not bad, (r["submission.debug_uid"], bad)
    for r in as_csv:
        ref = source[r["submission.debug_uid"]]
        for c in schema.PUBLISHED_COLUMNS:
            want = ref[c]
            if want is None:
                assert r[c] == "", (c, r[c])
            elif isinstance(want, float):
                assert float(r[c]) == want, c
            else:
                assert r[c] == str(want), c


def test_published_columns_only_is_the_published_shape(published_parquet, ds, tmp_path):
    import pyarrow.parquet as pq

    published.import_file(published_parquet, ds)
    res = export.export(tmp_path / "pub", dataset_dir=ds, columns="published", formats=["parquet"])
    assert pq.read_schema(res.files["parquet"]).names == pq.read_schema(published_parquet).names


def test_croissant_metadata_validates_and_reads_back(exported):
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant is in the test extras (pip install -e '.[test]')")
    meta = json.loads(exported.files["croissant"].read_text())
    for d in meta["distribution"]:
        assert d["sha256"] == hashlib.sha256((exported.out_dir / d["contentUrl"]).read_bytes()).hexdigest()
    ds = mlc.Dataset(jsonld=exported.files["croissant"])
    assert not ds.metadata.ctx.issues.errors and not ds.metadata.ctx.issues.warnings
    first = next(iter(ds.records("results")))  # reading all 847 records through pandas takes ~20 s
    assert first["results/metrics.units"] == b"Tokens/s" and first["results/metrics.result"] > 0


def test_croissant_of_mixed_rows_with_nulls_and_booleans(log_samples, ds, tmp_path):
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant is in the test extras (pip install -e '.[test]')")
    mlperf.import_tree(log_samples, ds)
    res = export.export(tmp_path / "x", dataset_dir=ds, sql='select * from results where "metrics.valid"')
    ds_ = mlc.Dataset(jsonld=res.files["croissant"])
    assert not ds_.metadata.ctx.issues.errors
    assert len(list(ds_.records("results"))) == res.rows == 9
    card = res.files["card"].read_text()
    assert "license: apache-2.0" in card and "FlexAI and MLCommons" in card and "9 rows" in card


def test_bad_export_arguments(ds, tmp_path):
    with pytest.raises(DatasetError, match="--formats=xlsx"):
        export.export(tmp_path / "o", dataset_dir=ds, formats=["xlsx"])
    with pytest.raises(DatasetError, match="--columns=some"):
        export.export(tmp_path / "o", dataset_dir=ds, columns="some")
