from __future__ import annotations

import json
import math

import pytest

import openmlperf
from openmlperf import schema
from openmlperf.errors import DatasetError
from openmlperf.importers import published


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def test_import_keeps_every_published_column_value_for_value(published_parquet, ds):
    import pyarrow.parquet as pq

    report = published.import_file(published_parquet, ds)
    assert (report.rows_read, report.rows_stored, report.rows_added, report.skipped) == (847, 847, 847, [])
    source = pq.read_table(published_parquet).to_pylist()
    stored = openmlperf.query('select * from results', ds).to_pylist()
    by_uid = {r["submission.debug_uid"]: r for r in stored}
    assert len(by_uid) == 847
    for row in source:
        ours = by_uid[row["submission.debug_uid"]]
        bad = [c for c in schema.PUBLISHED_COLUMNS if not _same(row[c], ours[c])]
        assert not bad, (row["submission.debug_uid"], bad)


def test_accuracy_string_becomes_numbers(published_parquet, ds):
    published.import_file(published_parquet, ds)
    rows = openmlperf.query('select "metrics.accuracy" a, "accuracy.rouge1" r1, "accuracy.tokens_per_sample" t, '
                            '"accuracy.gsm8k" g from results', ds).to_pylist()
    with_rouge = [r for r in rows if "ROUGE1" in (r["a"] or "")]
    assert with_rouge and all(r["r1"] is not None for r in with_rouge)
    r = with_rouge[0]
    assert f"ROUGE1: {r['r1']:g}" in r["a"].replace(".0 ", " ")
    assert any(r["g"] is not None for r in rows), "mixtral rows carry gsm8k_accuracy"


def test_import_twice_and_from_both_formats_adds_nothing(published_parquet, published_json, ds):
    published.import_file(published_parquet, ds)
    again = published.import_file(published_parquet, ds)
    assert (again.rows_stored, again.rows_added) == (847, 0)
    other = published.import_file(published_json, ds)
    assert (other.rows_added, other.duplicates_elsewhere) == (0, 847)
    n = openmlperf.query('select count(*) n, count(distinct "result.id") u from results', ds).to_pylist()[0]
    assert n == {"n": 847, "u": 847}


def test_unreadable_rows_are_skipped_with_file_and_reason(published_json, ds, tmp_path):
    rows = json.loads(published_json.read_text())[:5]
    rows[1] = "not a row"
    rows[2] = {**rows[2], "metrics.result": None}
    rows[3] = {**rows[3], "metrics.result": "fast"}
    bad = tmp_path / "data.json"
    bad.write_text(json.dumps(rows))
    report = published.import_file(bad, ds)
    assert report.rows_stored == 2
    reasons = {s.file.rsplit("#", 1)[1]: s.reason for s in report.skipped}
    assert set(reasons) == {"row1", "row2", "row3"}
    assert "not an object" in reasons["row1"] and "metrics.result" in reasons["row2"]
    assert "metrics.result" in reasons["row3"] and str(bad) in report.skipped[0].file


def test_malformed_file_is_a_clear_error_and_writes_nothing(ds, tmp_path):
    bad = tmp_path / "data.json"
    bad.write_text("[{")
    with pytest.raises(DatasetError, match="data.json: not readable JSON"):
        published.import_file(bad, ds)
    csv = tmp_path / "x.csv"
    csv.write_text("a")
    with pytest.raises(DatasetError, match="expected data.parquet or data.json"):
        published.import_file(csv, ds)
    assert not (ds / "sources").exists() or not list((ds / "sources").iterdir())
