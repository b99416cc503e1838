from __future__ import annotations

import pytest

import openmlperf
from openmlperf.errors import DatasetError
from openmlperf.importers import published
from openmlperf.sql import format_table


def test_query_on_an_empty_dataset_has_every_column(ds):
    t = openmlperf.query("select * from results", ds)
    assert t.num_rows == 0 and t.column_names == list(openmlperf.COLUMNS)
    assert openmlperf.query("select count(*) as n from results", ds).to_pylist() == [{"n": 0}]


def test_group_by_returns_an_arrow_table_and_a_dataframe(published_parquet, ds):
    published.import_file(published_parquet, ds)
    t = openmlperf.query('select "submission.scenario" s, count(*) n from results group by 1 order by 1', ds)
    assert t.to_pylist() == [{"s": "Offline", "n": 434}, {"s": "Server", "n": 413}]
    df = t.to_pandas()
    assert list(df["n"]) == [434, 413]
    assert "Offline" in format_table(t) and "(2 rows)" in format_table(t)


def test_bad_sql_is_a_one_line_error_naming_the_flag(ds):
    with pytest.raises(DatasetError, match=r"^--sql: .*nope"):
        openmlperf.query("select nope from results", ds)
    with pytest.raises(DatasetError, match="empty query"):
        openmlperf.query("  ", ds)


def test_default_dir_is_under_the_cmx_home(monkeypatch, tmp_path):
    monkeypatch.delenv("CMX_DATASET_DIR", raising=False)
    monkeypatch.setenv("CMX_HOME", str(tmp_path / "h"))
    assert openmlperf.dataset_dir() == (tmp_path / "h" / "cache" / "dataset").resolve()
    monkeypatch.setenv("CMX_DATASET_DIR", str(tmp_path / "d"))
    assert openmlperf.dataset_dir() == (tmp_path / "d").resolve()
