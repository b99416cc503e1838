"""flexboard/recipes.py in-process: the configurations predict,performance reads from --input=FILE
or its flags are checked and completed before anything is predicted (fast: no training)."""

from __future__ import annotations

import json

import pytest

from flexboard import recipes
from flexboard.errors import FlexBoardError


def test_a_file_row_is_completed_as_the_flags_are(tmp_path):
    f = tmp_path / "configs.csv"
    f.write_text("model.name,system.accelerator.name,system.accelerator.count_per_node,system.number_of_nodes\n"
                 "llama2-70b-99,NVIDIA H100-SXM-80GB,8,2\n"
                 "mixtral-8x7b,AMD Instinct MI325X,,\n")
    a, b = recipes.configs_from_file(str(f))
    assert (a["system.accelerator.count_per_node"], a["system.number_of_nodes"], a["system.accelerator.total_count"]) == (8, 2, 16)
    assert a["submission.scenario"] == "Offline"
    assert (b["system.accelerator.count_per_node"], b["system.accelerator.total_count"]) == (8, 8)  # the flags' defaults
    j = tmp_path / "configs.json"
    j.write_text(json.dumps({"model.name": "llama2-70b-99", "system.accelerator.name": "h200-sxm-141gb",
                             "system.accelerator.total_count": 4, "submission.scenario": "server"}))
    (c,) = recipes.configs_from_file(str(j))
    assert (c["system.accelerator.count_per_node"], c["system.accelerator.total_count"]) == (4, 4)
    assert c["submission.scenario"] == "Server"


@pytest.mark.parametrize("line,needle", [
    ("llama2-70b-99,Potato-9000,8,Offline", ":2: accelerator 'Potato-9000' is not in flexboard/data/accelerators.csv"),
    ("llama2-70b-99,H100-SXM-80GB,eight,Offline", ":2: system.accelerator.count_per_node='eight' is not a whole number"),
    ("llama2-70b-99,H100-SXM-80GB,0,Offline", ":2: system.accelerator.count_per_node='0' is not a whole number of at least 1"),
    ("llama2-70b-99,H100-SXM-80GB,8,Bogus", ":2: scenario 'Bogus' is not one of Offline, Server, Interactive"),
    ("nope-9b,H100-SXM-80GB,8,Offline", ":2: model 'nope-9b':"),
    (",H100-SXM-80GB,8,Offline", ":2: no model.name"),
    ("llama2-70b-99,H100-SXM-80GB", ":2: 4 fields expected"),
])
def test_a_bad_file_row_is_an_error_naming_its_line(tmp_path, line, needle):
    f = tmp_path / "configs.csv"
    f.write_text("model.name,system.accelerator.name,system.accelerator.count_per_node,submission.scenario\n" + line + "\n")
    with pytest.raises(FlexBoardError) as e:
        recipes.configs_from_file(str(f))
    assert f"{f}{needle}" in str(e.value)


def test_a_bad_json_item_is_named_and_an_empty_file_is_an_error(tmp_path):
    j = tmp_path / "configs.json"
    j.write_text(json.dumps([{"model.name": "llama2-70b-99", "system.accelerator.name": "h100-sxm-80gb"},
                             {"model.name": "llama2-70b-99", "system.accelerator.name": "h100-sxm-80gb",
                              "model.weight_data_types": "fp7"}]))
    with pytest.raises(FlexBoardError, match=r"configs.json: item 2: weight type 'fp7' unknown"):
        recipes.configs_from_file(str(j))
    j.write_text("[]")
    with pytest.raises(FlexBoardError, match="no configuration in the file"):
        recipes.configs_from_file(str(j))


def test_the_flags_scenario_and_weight_type_are_checked():
    with pytest.raises(FlexBoardError, match=r"--scenario=Bogus: .* not one of Offline, Server, Interactive"):
        recipes.config_row("llama2-70b-99", "h100-sxm-80gb", scenario="Bogus")
    with pytest.raises(FlexBoardError, match=r"--dtype=fp7: .* unknown"):
        recipes.config_row("llama2-70b-99", "h100-sxm-80gb", dtype="fp7")
    assert recipes.config_row("llama2-70b-99", "h100-sxm-80gb", scenario="server")["submission.scenario"] == "Server"


@pytest.mark.parametrize("flag,raw,needle", [
    ("max_iter", "-5", "--max_iter=-5: must be at least 1"),
    ("max_iter", "abc", "--max_iter=abc: not a whole number"),
    ("learning_rate", "0", "--learning_rate=0: must be more than 0"),
    ("learning_rate", "nan", "--learning_rate=nan: must be more than 0"),
    ("max_leaf_nodes", "1", "--max_leaf_nodes=1: must be at least 2"),
    ("conformal_folds", "1", "--conformal_folds=1: 0 (no calibration) or at least 2 folds"),
])
def test_a_bad_predictor_setting_is_an_error_naming_the_flag(flag, raw, needle):
    with pytest.raises(FlexBoardError) as e:
        recipes._settings({f"CMX_FLEXBOARD_{flag.upper()}": raw})
    assert str(e.value) == needle
    assert recipes._settings({"CMX_FLEXBOARD_MAX_ITER": "30", "CMX_FLEXBOARD_CONFORMAL_FOLDS": "0"}).max_iter == 30


def test_data_that_is_not_parquet_is_an_error_naming_the_flag(tmp_path):
    f = tmp_path / "rows.json"
    f.write_text("[]")
    with pytest.raises(FlexBoardError, match=rf"^--data={f}: not a Parquet file with the dataset's columns"):
        recipes._rows({"CMX_FLEXBOARD_DATA": str(f)})
