"""The Open MLPerf Dataset end to end through the cmx command line (the interfaces that
outside tests call): import, query with and without -j, idempotence, skips and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.openmlperf.conftest import LOG_SAMPLES, PUBLISHED


def _need(path):
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (the project's ../shared next to the checkout)")
    return path.resolve()


def test_import_published_then_query_json_and_table(cmx, home):
    data = _need(PUBLISHED / "data.parquet")
    res = cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={data}", "-j")
    assert res.code == 0, res.err
    rep = res.json["new_state"]["dataset_import"]
    assert (rep["rows_stored"], rep["rows_added"], rep["skipped"]) == (847, 847, [])
    assert rep["dataset_dir"] == str((home / "cache" / "dataset").resolve())

    again = cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={data}", "-j")
    assert again.code == 0 and again.json["new_state"]["dataset_import"]["rows_added"] == 0

    q = cmx("run", "script", "--tags=query,dataset", "--sql=select count(*) as n from results", "-j")
    assert q.code == 0, q.err
    assert q.json["new_state"]["rows"] == [{"n": 847}]

    t = cmx("run", "script", "--tags=query,dataset",
            '--sql=select "submission.scenario" as s, count(*) as n from results group by 1 order by 1')
    assert t.code == 0 and "Offline" in t.err and "434" in t.err and "(2 rows)" in t.err


def test_skipped_rows_fail_the_import_unless_allowed(cmx, tmp_path):
    rows = json.loads(_need(PUBLISHED / "data.json").read_text())[:3]
    rows[1] = {**rows[1], "submission.scenario": None}
    bad = tmp_path / "data.json"
    bad.write_text(json.dumps(rows))
    res = cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={bad}", "-j")
    assert res.code == 1
    assert "1 row(s) skipped" in res.err and "data.json#row1" in res.err and "Traceback" not in res.err
    ok = cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={bad}", "--allow_skips=yes", "-j")
    assert ok.code == 0 and ok.json["new_state"]["dataset_import"]["rows_stored"] == 2


def test_bad_sql_and_missing_path_are_one_line_errors(cmx, tmp_path):
    res = cmx("run", "script", "--tags=query,dataset", "--sql=select nope from results")
    assert res.code != 0 and "--sql: " in res.err and "Traceback" not in res.err
    res = cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={tmp_path / 'none.parquet'}")
    assert res.code != 0 and "no such file" in res.err and "Traceback" not in res.err


def test_import_mlperf_results_reproduces_the_official_table(cmx):
    samples = _need(LOG_SAMPLES)
    table = _need(LOG_SAMPLES.parent / "mlperf_inference_v4.1_results_from_logs.csv")
    res = cmx("run", "script", "--tags=import,mlperf,results", f"--path={samples}", f"--summary_csv={table}", "-j")
    assert res.code == 0, res.err
    rep = res.json["new_state"]["dataset_import"]
    n = rep["rows_stored"]
    assert n >= 9 and rep["official"]["agree"] == n and rep["official"]["disagree"] == []
    assert f"{n} of {n} results agree" in res.err
    q = cmx("run", "script", "--tags=query,dataset", "-j",
            """--sql=select count(*) as n from results where "metrics.result_per_accelerator" is null""")
    assert q.json["new_state"]["rows"] == [{"n": 1}]  # the CPU-only Cisco system, kept


def test_import_flexbench_results_from_a_real_run(fhome, tmp_path):
    from tests.conftest import run_cmx

    run = run_cmx("run", "script", "--tags=run,flexbench,_noop,_performance", "--samples=8", "-j", home=fhome,
                  timeout=1800)
    assert run.code == 0, run.err[-2000:]
    run_dir = Path(run.json["new_env"]["CMX_FLEXBENCH_RESULT"]).parents[1]
    ds = tmp_path / "ds"
    res = run_cmx("run", "script", "--tags=import,flexbench,results", f"--path={run_dir}", f"--dataset_dir={ds}", "-j",
                  home=fhome)
    assert res.code == 0, res.err
    assert res.json["new_state"]["dataset_import"]["rows_stored"] == 1
    q = run_cmx("run", "script", "--tags=query,dataset", f"--dataset_dir={ds}", "-j",
                '--sql=select "flexbench.run_id" as id, "metrics.units" as u from results', home=fhome)
    assert q.json["new_state"]["rows"] == [{"id": run_dir.name, "u": "Tokens/s"}]


def test_contribute_and_merge_through_the_cli_and_a_tampered_bundle_fails(cmx, tmp_path):
    samples = _need(LOG_SAMPLES)
    assert cmx("run", "script", "--tags=import,mlperf,results", f"--path={samples}").code == 0
    out = tmp_path / "bundle"
    res = cmx("run", "script", "--tags=contribute,result", """--where="submission.organization" = 'ASUSTeK'""",
              f"--bundle={out}", "--contributor=ci", "-j")
    assert res.code == 0, res.err
    assert res.json["new_state"]["dataset_bundle"]["rows"] == 4
    ds = tmp_path / "ds"
    m = cmx("run", "script", "--tags=merge,contribution", f"--path={out}", f"--dataset_dir={ds}", "-j")
    assert m.code == 0, m.err
    assert m.json["new_state"]["dataset_import"]["rows_added"] == 4
    log = next(out.rglob("mlperf_log_detail.txt"))
    log.write_text(log.read_text().replace('"result_validity", "value": "VALID"', '"result_validity", "value": "INVALID"'))
    bad = cmx("run", "script", "--tags=merge,contribution", f"--path={out}", f"--dataset_dir={tmp_path / 'ds2'}")
    assert bad.code == 1 and "sha256 does not match" in bad.err and "Traceback" not in bad.err


def test_export_through_the_cli(cmx, tmp_path):
    data = _need(PUBLISHED / "data.json")
    assert cmx("run", "script", "--tags=import,open-mlperf-dataset", f"--path={data}").code == 0
    out = tmp_path / "export"
    res = cmx("run", "script", "--tags=export,dataset", f"--output_dir={out}", "--columns=published", "-j")
    assert res.code == 0, res.err
    assert res.json["new_state"]["dataset_export"]["rows"] == 847
    def by_uid(rows):
        return sorted(rows, key=lambda r: r["submission.debug_uid"])

    assert by_uid(json.loads((out / "data.json").read_text())) == by_uid(json.loads(data.read_text()))
    assert (out / "croissant.json").is_file() and (out / "README.md").is_file()
