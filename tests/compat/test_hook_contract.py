"""MLC's ``predeps()`` and CM's preprocess choosing the script to run, on a small MLC-format repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat.fixtures import MLC_PREDEPS, write_repo


@pytest.fixture
def registered(cmx, tmp_path: Path):
    root = write_repo(tmp_path / "mlcpre", MLC_PREDEPS)
    assert cmx("add", "repo", str(root)).code == 0
    return cmx


def test_predeps_sets_the_env_the_dependencies_conditions_read(registered) -> None:
    res = registered("run", "script", "mlcpre:get-widget", "--mode=fetch", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["MLC_WIDGET_BY"] == "run:yes"
    res = registered("run", "script", "mlcpre:get-widget", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["MLC_WIDGET_BY"] == "run:no"


def test_preprocess_chooses_the_script_to_run(registered) -> None:
    res = registered("run", "script", "mlcpre:get-widget", "--mode=detect", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["MLC_WIDGET_BY"] == "detect:yes"


def test_a_chosen_script_that_does_not_exist_is_a_clear_error(registered) -> None:
    res = registered("run", "script", "mlcpre:get-widget", "--mode=nowhere")
    assert res.code == 1
    assert "preprocess chose the script 'nowhere', but" in res.err and "has no nowhere.sh" in res.err, res.err


def test_predeps_false_in_the_meta_turns_it_off(registered) -> None:
    res = registered("run", "script", "mlcpre:no-predeps", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"] == {"MLC_NOPRE_OK": "yes"}
