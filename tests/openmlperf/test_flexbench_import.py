"""import,flexbench,results on real FlexBench runs (noop backend, real LoadGen, in the shared
FlexBench home), including the command that reproduces a run."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import pytest

import openmlperf
from openmlperf.importers import flexbench
from tests.conftest import run_cmx


def _run(fhome: Path, *args: str) -> dict:
    res = run_cmx(*args, "-j", home=fhome, timeout=1800)
    assert res.code == 0, res.err[-3000:]
    return res.json


@pytest.fixture(scope="module")
def runs(fhome: Path) -> dict[str, Path]:
    server = _run(fhome, "run", "script", "--tags=run,flexbench,_noop,_server,_performance", "--samples=32",
                  "--min_query_count=500", "--target_qps=400")
    offline = _run(fhome, "run", "script", "--tags=run,flexbench,_noop", "--samples=8")
    return {"server": Path(server["new_env"]["CMX_FLEXBENCH_RESULT"]),
            "offline": Path(offline["new_env"]["CMX_FLEXBENCH_RESULT"])}


def _row(ds, run_dir: Path) -> dict:
    rows = openmlperf.query(f"""select * from results where "flexbench.run_id" = '{run_dir.name}'""", ds).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_a_server_run_becomes_one_row_with_loadgen_figures_and_provenance(runs, ds):
    result = runs["server"]
    run_dir = result.parents[1]
    report = flexbench.import_runs(run_dir, ds)
    assert (report.rows_stored, report.skipped) == (1, [])
    row = _row(ds, run_dir)
    data = json.loads(result.read_text())
    s = data["summary"]
    assert row["submission.scenario"] == "Server" and row["benchmark.name"] == "flexbench"
    assert row["metrics.result"] == s["tokens_per_second"] and row["metrics.units"] == "Tokens/s"
    assert row["metrics.valid"] is s["valid"] and row["metrics.ttft.p99"] == pytest.approx(s["ttft_ms"]["p99"])
    assert row["loadgen.query_count"] >= 500 and row["flexbench.backend"] == "noop"
    lock = data["provenance"]["cmx_lock"]
    digest = hashlib.sha256(json.dumps(lock, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert row["provenance.lockfile_digest"] == digest and row["provenance.cmx_version"] == lock["cmx_version"]
    files = json.loads(row["provenance.files"])
    assert all((run_dir / f).is_file() for f in files) and "cmx-lock.json" in files
    assert row["system.accelerator.total_count"] in (0, None) or row["metrics.result_per_accelerator"] is not None


def test_the_reproduce_command_runs_the_same_benchmark_again(runs, fhome, ds):
    run_dir = runs["server"].parents[1]
    flexbench.import_runs(run_dir, ds)
    cmd = _row(ds, run_dir)["provenance.reproduce"]
    argv = shlex.split(cmd)
    assert argv[:4] == ["cmx", "run", "script", "run-flexbench"] and "--samples=32" in argv
    again = _run(fhome, *argv[1:])
    new = json.loads(Path(again["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())
    old = json.loads(runs["server"].read_text())
    assert new["config"] | {"out_dir": None, "user_conf": None} == old["config"] | {"out_dir": None, "user_conf": None}


def test_offline_run_with_accuracy_and_idempotent_imports(runs, ds):
    run_dir = runs["offline"].parents[1]
    first = flexbench.import_runs(run_dir, ds)
    again = flexbench.import_runs(run_dir, ds)
    assert (first.rows_added, again.rows_added, again.rows_stored) == (1, 0, 1)
    # the same run reached through a bigger folder (e.g. cache/runs) is stored once
    wider = flexbench.import_runs(run_dir.parent, ds)
    assert wider.duplicates_elsewhere >= 1
    row = _row(ds, run_dir)
    assert row["accuracy.rouge1"] is not None and row["accuracy.tokens_per_sample"] == 16
    assert row["metrics.accuracy"].startswith("ROUGE1: ") and row["submission.mode"] == "performance"


def test_unreadable_result_json_is_skipped_and_other_tools_ignored(runs, ds, tmp_path):
    src = runs["offline"].parents[1]
    good = tmp_path / "runs" / src.name
    shutil.copytree(src, good)
    broken = tmp_path / "runs" / "run-flexbench-broken" / "flexbench"
    broken.mkdir(parents=True)
    (broken / "result.json").write_text("{not json")
    other = tmp_path / "runs" / "something-else"
    other.mkdir()
    (other / "result.json").write_text(json.dumps({"schema": "another-tool/3"}))
    report = flexbench.import_runs(tmp_path / "runs", ds)
    assert report.rows_stored == 1 and len(report.skipped) == 1
    assert report.skipped[0].file.endswith("run-flexbench-broken/flexbench/result.json")
    assert "not readable JSON" in report.skipped[0].reason
    assert any("other tools ignored" in n for n in report.notes)


def test_a_flexbench_run_travels_in_a_bundle_and_a_forged_rouge_is_caught(runs, ds, tmp_path):
    import pyarrow.parquet as pq

    from openmlperf import bundle, schema
    from openmlperf.errors import BundleRejected

    run_dir = runs["offline"].parents[1]
    flexbench.import_runs(run_dir, ds)
    rid = _row(ds, run_dir)["result.id"]
    b = bundle.contribute(tmp_path / "b", dataset_dir=ds, ids=[rid])
    names = set(json.loads((b / "manifest.json").read_text())["rows"][0]["files"])
    assert {"result.json", "performance/mlperf_log_detail.txt", "cmx-lock.json"} <= names
    merged = bundle.merge(b, tmp_path / "fresh")
    assert merged.rows_stored == 1
    assert openmlperf.query('select "flexbench.run_id" r from results', tmp_path / "fresh").to_pylist() == [
        {"r": run_dir.name}]
    rows = pq.read_table(b / "rows.parquet").to_pylist()
    rows[0]["accuracy.rouge1"] = 99.0
    pq.write_table(schema.to_table(rows), b / "rows.parquet")
    m = json.loads((b / "manifest.json").read_text())
    m["files"]["rows.parquet"] = hashlib.sha256((b / "rows.parquet").read_bytes()).hexdigest()
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleRejected, match="accuracy.rouge1"):
        bundle.merge(b, tmp_path / "other")
