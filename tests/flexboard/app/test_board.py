"""The queries behind the FlexBoard pages (flexboard.app.board), on the published dataset."""

from __future__ import annotations

import json

import pytest

from flexboard.app import board
from flexboard.errors import FlexBoardError


def test_load_maps_a_published_file_as_the_importer_does(board_rows, published_dataset):
    from tests.flexboard.app.conftest import PUBLISHED

    direct = board.load(board.Source(data_file=str(PUBLISHED.resolve())))
    assert len(direct) == len(board_rows) == 847
    assert sorted(direct[board.ID]) == sorted(board_rows[board.ID])  # the same identities as an import
    assert set(board.EXPLORE_COLUMNS) <= set(direct.columns)


def test_an_empty_dataset_loads_as_no_rows_and_the_message_names_the_import(tmp_path):
    src = board.Source(dataset_dir=str(tmp_path / "empty"))
    assert len(board.load(src)) == 0
    assert "import,open-mlperf-dataset" in board.empty_message(src)


def test_filters_combine_columns_and_text(board_rows):
    f = board.Filters.of({"model.mlperf_name": ["llama2-70b-99"], "submission.scenario": ["Server"]})
    sub = board.apply(board_rows, f)
    want = board_rows[(board_rows["model.mlperf_name"] == "llama2-70b-99") & (board_rows["submission.scenario"] == "Server")]
    assert list(sub[board.ID]) == list(want[board.ID]) and len(sub) > 0
    text = board.apply(board_rows, board.Filters.of(text="h200"))
    hay = (text["system.name"] + " " + text["system.accelerator.name"] + " " + text["model.name"] + " "
           + text["submission.organization"]).str.lower()
    assert len(text) > 0 and hay.str.contains("h200").all()
    assert board.apply(board_rows, board.Filters.of(text="no-system-is-called-this")).empty
    assert board.apply(board_rows, board.Filters.of()) is board_rows


def test_compare_takes_each_systems_best_and_refuses_an_empty_choice(board_rows):
    model, scenario = "llama2-70b-99", "Offline"
    systems = board.systems_for(board_rows, model, scenario)[:3]
    table = board.compare(board_rows, model, scenario, systems)
    assert table.shape == (len(board.COMPARE_FIELDS), 3)
    for name, col in zip(systems, table.columns):
        rows = board_rows[(board_rows["system.name"] == name) & (board_rows["model.mlperf_name"] == model)
                          & (board_rows["submission.scenario"] == scenario)]
        assert table.loc["Per accelerator", col] == f"{rows[board.THROUGHPUT].max():,.2f}"
    with pytest.raises(FlexBoardError):
        board.compare(board_rows, model, scenario, [])


def test_cost_uses_the_price_of_each_rows_accelerator(board_rows):
    costs = board.cost_frame(board_rows, {"h200-sxm-141gb": 3.6})
    h200 = costs[costs["accelerator"] == "h200-sxm-141gb"]
    assert len(h200) > 0 and h200["cost_per_million_tokens"].notna().all()
    r = h200.iloc[0]
    assert r["cost_per_million_tokens"] == pytest.approx(3.6 / (r[board.THROUGHPUT] * 3600) * 1e6)
    assert costs[costs["accelerator"] != "h200-sxm-141gb"]["cost_per_million_tokens"].isna().all()
    assert list(costs["cost_per_million_tokens"].dropna()) == sorted(costs["cost_per_million_tokens"].dropna())


def test_provenance_of_a_published_row_is_its_file_and_the_import_command(board_rows):
    rid = str(board_rows[board.ID].iloc[5])
    p = board.provenance(board_rows, rid)
    assert p.source_kind == "published-dataset" and not p.reproduces_run
    assert p.reproduce.startswith("cmx run script --tags=import,open-mlperf-dataset --path=")
    assert p.files == tuple(json.loads(board_rows["provenance.files"].iloc[5]))
    with pytest.raises(FlexBoardError):
        board.provenance(board_rows, "0000000000000000")


def test_provenance_of_a_flexbench_row_is_its_reproduce_command(board_rows):
    row = board_rows.iloc[[0]].copy()
    row[board.ID] = "fb00000000000001"
    row["provenance.source_kind"] = "flexbench-run"
    row["provenance.reproduce"] = "cmx run script run-flexbench --tags=_noop --samples=8"
    p = board.provenance(row, "fb00000000000001")
    assert p.reproduces_run and p.reproduce == "cmx run script run-flexbench --tags=_noop --samples=8"


def test_the_explore_table_for_the_browser_has_the_filtered_rows_with_their_links(board_rows):
    sub = board.apply(board_rows, board.Filters.of({"submission.scenario": ["Server"]}))
    table = board.explore_arrow(board_rows, sub)
    assert table.num_rows == len(sub) > 0
    assert table.column(board.LINK).to_pylist() == [f"provenance?id={i}" for i in sub[board.ID]]
    assert set(table.column("submission.scenario").to_pylist()) == {"Server"}
    assert table.column(board.THROUGHPUT).to_pylist() == list(sub[board.THROUGHPUT])
    assert board.explore_arrow(board_rows, board_rows).num_rows == len(board_rows)


def test_the_throughput_chart_keeps_tokens_per_second_only(board_rows):
    rows = board_rows.copy()
    rows.loc[0, "metrics.units"] = "Samples/s"
    data = board.chart_frame(rows, board.THROUGHPUT)
    assert len(data) == len(rows) - 1
    assert board.chart_frame(rows, "power.energy_per_token").empty
