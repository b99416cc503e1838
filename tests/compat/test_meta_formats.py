"""CM's and MLC's meta formats as those repositories write them, read with their loose typing, for
registered CM/MLC repositories only (our own layout stays strict)."""

from __future__ import annotations

from pathlib import Path

from tests.compat.fixtures import CM_FORMATS, MLC_FORMATS, write_repo


def test_loose_typing_of_a_cm_repository_plans_and_runs(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmloose", CM_FORMATS)
    assert cmx("add", "repo", str(root)).code == 0
    assert cmx("find", "script", "--show-broken", "-j").json["broken"] == []
    res = cmx("run", "script", "--tags=cmloose:loose,yaml", "-j")
    assert res.code == 0, res.err
    # 'true' default variation, a number and a YAML bool in default_env, a list-valued env joined with
    # the separator after '+', and run-linux.sh chosen over run.sh
    assert res.json["new_env"]["CM_LOOSE_OUT"] == "linux:fast:8:yes:-O3 -g"
    res = cmx("run", "script", "cmloose:loose-json", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["CM_JSON_SAW"] == "linux:slow:8:yes:"


def test_ignored_keys_are_noted_not_rejected(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "cmloose", CM_FORMATS)
    assert cmx("add", "repo", str(root)).code == 0
    shown = cmx("show", "script", "cmloose:loose-yaml")
    assert shown.code == 0, shown.err
    assert "note: line 8: key 'category_sort' at top level is not read by cmx; ignored" in shown.out, shown.out
    assert "key 'tests' (MLC's test cases) is not read by cmx" in shown.out
    meta = cmx("show", "script", "cmloose:loose-json", "-j").json["recipe"]["meta"]
    assert meta["cache"] is False and meta["deps"][0]["force_cache"] is True
    assert any("docker_input_mapping" in n for n in meta["_cmx_notes"])


def test_an_mlc_repository_meta_yaml(cmx, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "mlcloose", MLC_FORMATS)
    assert cmx("add", "repo", str(root)).code == 0
    res = cmx("run", "script", "--tags=mlcloose:mlc,loose", "-j")
    assert res.code == 0, res.err
    assert res.json["new_env"]["MLC_LOOSE_OUT"] == "n3"


def test_our_own_layout_stays_strict(cmx, repo) -> None:
    repo.add("strict", "tags: [strict]\ncache: 'yes'\n")
    res = cmx("run", "script", "--tags=strict")
    assert res.code == 2 and "cache: expected boolean, got str 'yes'" in res.err, res.err
    repo.add("strict2", "tags: [strict2]\ncategory_sort: 3\n")
    res = cmx("run", "script", "--tags=strict2")
    assert res.code == 2 and "unknown key 'category_sort'" in res.err, res.err
