"""import,mlperf,results on the real v4.1 logs in ../shared: the headline metric of every
result equals the official table within rounding, in both layouts."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

import openmlperf
from openmlperf import schema
from openmlperf.errors import DatasetError
from openmlperf.importers import mlperf
from openmlperf.synthetic import build_round, sample_results


def _rows(ds):
    return openmlperf.query("select * from results", ds).to_pylist()


def test_every_shared_result_equals_the_official_table(log_samples, official_csv, ds):
    report = mlperf.import_tree(log_samples, ds, summary_csv=official_csv)
    n = len(sample_results(log_samples))
    assert n >= 9 and report.rows_stored == n and not report.skipped
    off = report.extra["official"]
    assert (off["compared"], off["agree"], off["disagree"], off["not_in_official"]) == (n, n, [], [])
    # and independently of compare_official: each row against the CSV, by hand
    table = {(r["submitter"], r["platform"], r["model"], r["scenario"]): r for r in csv.DictReader(open(official_csv))}
    for row in _rows(ds):
        ref = table[(row["submission.organization"], row["submission.platform"], row["model.name"],
                     row["submission.scenario"])]
        assert row["metrics.result"] == pytest.approx(float(ref["metrics_value" if "metrics_value" in ref else "metric_value"]),
                                                      rel=5e-6)
        assert row["metrics.units"] == ref["units"] and row["metrics.result_key"] == ref["metric_key"]
        assert row["submission.round"] == "v4.1" and row["metrics.valid"] is True


def test_a_disagreeing_official_table_is_reported(log_samples, official_csv, ds, tmp_path):
    rows = list(csv.DictReader(open(official_csv)))
    for r in rows:
        if r["submitter"] == "Dell" and r["scenario"] == "MultiStream":
            r["metric_value"] = str(float(r["metric_value"]) * 1.01)
    bad = tmp_path / "official.csv"
    with open(bad, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    off = mlperf.import_tree(log_samples, ds, summary_csv=bad).extra["official"]
    assert len(off["disagree"]) == 1 and "Dell/XR8620_L4x1_TRT/retinanet/MultiStream" in off["disagree"][0]["result"]


def test_figures_percentiles_validity_and_cpu_only_convention(log_samples, ds):
    mlperf.import_tree(log_samples, ds)
    rows = {(r["submission.organization"], r["model.name"], r["submission.scenario"]): r for r in _rows(ds)}
    amd = rows[("AMD", "llama2-70b-99", "Server")]
    assert amd["metrics.units"] == "Tokens/s" and amd["metrics.result"] == 2520.27
    assert amd["metrics.ttft.p99"] == pytest.approx(785.265884) and amd["metrics.tpot.p99"] == pytest.approx(190.298723)
    assert amd["metrics.samples_per_second"] == 8.58586 and amd["loadgen.min_duration"] == 600000
    assert amd["metrics.perf_constraints_met"] is True and amd["loadgen.query_count"] == 24576
    ms = rows[("Dell", "retinanet", "MultiStream")]
    assert ms["metrics.units"] == "Latency (ms)" and ms["metrics.result"] == pytest.approx(42.019927)
    assert ms["metrics.early_stopping_latency"] == pytest.approx(42.019927) and ms["metrics.latency.p99"] > 0
    cpu = rows[("Cisco", "gptj-99", "Offline")]
    assert cpu["system.accelerator.total_count"] == 0 and cpu["system.accelerator.name"] is None
    assert cpu["metrics.result_per_accelerator"] is None and cpu["metrics.result_per_node"] == cpu["metrics.result"]
    assert cpu["system.cpu.vendor"] == "Intel" and cpu["system.memory.capacity"] == 1024.0
    assert json.loads(cpu["provenance.files"])[0].endswith("mlperf_log_detail.txt")


def test_system_columns_agree_with_the_published_rows(log_samples, published_json, ds):
    """The published dataset holds four of the shared results: our columns equal theirs,
    except what the sample folder lacks (accuracy, measurements) and what v4.1 rows leave null."""
    mlperf.import_tree(log_samples, ds)
    pub = json.loads(published_json.read_text())
    not_in_samples = {"datetime", "metrics.accuracy", "model.weight_data_types", "submission.debug_uid"}
    matched = 0
    for row in _rows(ds):
        for p in pub:
            if (p["submission.organization"], p["model.name"], p["submission.scenario"]) == (
                    row["submission.organization"], row["model.name"], row["submission.scenario"]) and \
                    p["metrics.result"] == pytest.approx(row["metrics.result"], rel=1e-6):
                matched += 1
                diff = {c: (row[c], p[c]) for c in schema.PUBLISHED_COLUMNS if c not in not_in_samples and row[c] != p[c]}
                assert not diff, (row["result.identity"], diff)
    assert matched >= 4


def test_round_layout_v5_and_v6_with_accuracy_and_measurements(log_samples, ds, tmp_path):
    for layout in ("v5", "v6"):
        root = tmp_path / f"inference_results_v4.1-{layout}"
        n = build_round(log_samples, root, copies=2, layout=layout)
        report = mlperf.import_tree(root, tmp_path / f"ds-{layout}")
        assert report.extra["layout"] == "round" and report.extra["round"] == "v4.1"
        assert report.rows_stored == n and not report.skipped
        rows = _rows(tmp_path / f"ds-{layout}")
        assert len(rows) == n and len({r["result.id"] for r in rows}) == n
        llm = next(r for r in rows if r["model.name"] == "llama2-70b-99")
        assert llm["accuracy.rouge1"] == 44.4312 and llm["accuracy.tokens_per_sample"] == 293.7
        assert "ROUGE1: 44.4312" in llm["metrics.accuracy"] and llm["model.weight_data_types"] == "fp8"
    # the same results through a second source are duplicates, stored once
    mlperf.import_tree(tmp_path / "inference_results_v4.1-v5", ds)
    dup = mlperf.import_tree(tmp_path / "inference_results_v4.1-v6", ds)
    assert (dup.rows_stored, dup.duplicates_elsewhere) == (0, n)


def test_reimport_adds_nothing_and_bad_results_are_skipped_with_reasons(log_samples, ds, tmp_path):
    root = tmp_path / "inference_results_v4.1"
    n = build_round(log_samples, root)
    first = mlperf.import_tree(root, ds)
    again = mlperf.import_tree(root, ds)
    assert (first.rows_added, again.rows_added, again.rows_stored) == (n, 0, n)
    res = root / "closed" / "Dell" / "results" / "XR8620_L4x1_TRT"
    # a missing log, an unknown benchmark, a malformed log
    (res / "retinanet" / "MultiStream" / "performance" / "run_1" / "mlperf_log_detail.txt").unlink()
    odd = root / "closed" / "AMD" / "results" / "1xMI300X_2xEPYC-9374F"
    shutil.copytree(odd / "llama2-70b-99", odd / "mystery-net")
    bert = root / "closed" / "ASUSTeK" / "results" / "ESC4000A_E12_4XH100_TRT" / "bert-99" / "Server"
    log = bert / "performance" / "run_1" / "mlperf_log_detail.txt"
    log.unlink()
    log.write_text(':::MLLOG {"key": "result_validity", "value": "VAL\n')
    report = mlperf.import_tree(root, ds)
    reasons = {s.file.split("/results/")[1]: s.reason for s in report.skipped}
    assert len(reasons) == 3 and report.rows_stored == n - 2
    assert "no performance/run_1/mlperf_log_detail.txt" in reasons["XR8620_L4x1_TRT/retinanet/MultiStream"]
    detail = "performance/run_1/mlperf_log_detail.txt"
    assert "unknown benchmark 'mystery-net'" in reasons[f"1xMI300X_2xEPYC-9374F/mystery-net/Server/{detail}"]
    assert "not a JSON record" in reasons[f"ESC4000A_E12_4XH100_TRT/bert-99/Server/{detail}"]


def test_open_division_model_mapping(log_samples, ds, tmp_path):
    root = tmp_path / "inference_results_v4.1"
    build_round(log_samples, root, division="open")
    sub = root / "open" / "AMD"
    results = sub / "results" / "1xMI300X_2xEPYC-9374F"
    (results / "llama2-70b-99").rename(results / "my-llama")
    (sub / "model_mapping.json").write_text(json.dumps({"my-llama": "llama2-70b-99"}))
    mlperf.import_tree(root, ds)
    row = openmlperf.query("""select "model.name" n, "model.mlperf_name" m, "metrics.units" u from results
                              where "submission.organization" = 'AMD'""", ds).to_pylist()
    assert row == [{"n": "my-llama", "m": "llama2-70b-99", "u": "Tokens/s"}]


def test_not_a_results_tree_is_a_clear_error(ds, tmp_path):
    with pytest.raises(DatasetError, match="neither an MLPerf results tree"):
        mlperf.import_tree(tmp_path, ds)
    with pytest.raises(DatasetError, match="no such folder"):
        mlperf.import_tree(tmp_path / "none", ds)
    with pytest.raises(DatasetError, match="--round=5: expected vX.Y"):
        mlperf.import_tree(tmp_path, ds, round_="5")


def test_open_division_names_without_a_mapping_follow_the_checkers_guesses(log_samples, ds, tmp_path):
    root = tmp_path / "inference_results_v4.1"
    build_round(log_samples, root, division="open")
    results = root / "open" / "ASUSTeK" / "results" / "ESC4000A_E12_4XH100_TRT"
    (results / "bert-99").rename(results / "bert-large-pruned80_quant-none-vnni-bert-99")
    (results / "resnet50").rename(results / "mobilenet-v2-int8")
    report = mlperf.import_tree(root, ds)
    assert not report.skipped
    got = openmlperf.query("""select "model.name" n, "model.mlperf_name" m from results
                              where "submission.organization" = 'ASUSTeK' order by 1""", ds).to_pylist()
    assert {"n": "bert-large-pruned80_quant-none-vnni-bert-99", "m": "bert-99"} in got
    assert {"n": "mobilenet-v2-int8", "m": "resnet"} in got


def test_underscore_spellings_of_v51_are_the_dotted_benchmark(log_samples, ds, tmp_path):
    # v5.1's Cisco, Intel, Lenovo and Supermicro trees spell llama3_1-405b / llama3_1-8b; the
    # checker maps them to llama3.1-405b / llama3.1-8b, and so must model.mlperf_name
    from openmlperf import headline

    assert headline.official_name("llama3_1-405b") == "llama3.1-405b"
    assert headline.official_name("llama3_1-8b-edge") == "llama3.1-8b-edge"
    assert headline.official_name("llama3.1-8b") == "llama3.1-8b" and headline.official_name("resnet50") == "resnet50"
    root = tmp_path / "inference_results_v5.1"
    build_round(log_samples, root)
    results = root / "closed" / "AMD" / "results" / "1xMI300X_2xEPYC-9374F"
    (results / "llama2-70b-99").rename(results / "llama3_1-8b")
    report = mlperf.import_tree(root, ds)
    assert not report.skipped and report.extra["round"] == "v5.1"
    row = openmlperf.query("""select "model.name" n, "model.mlperf_name" m, "metrics.units" u from results
                              where "submission.organization" = 'AMD'""", ds).to_pylist()
    assert row == [{"n": "llama3_1-8b", "m": "llama3.1-8b", "u": "Tokens/s"}]


def _summary_results(rows, scale=None):
    """A round's summary_results.json for imported rows (the shape v5.1 publishes)."""
    out = []
    for r in rows:
        loc = "/".join((r["submission.division"], r["submission.organization"], "results", r["submission.platform"],
                        r["model.name"], r["submission.scenario"].lower()))
        value = r["metrics.result"] * (scale(r) if scale else 1.0)
        out.append({"Location": loc, "Scenario": r["submission.scenario"], "Model": r["model.mlperf_name"],
                    "Performance_Result": round(value, 6), "Performance_Units": r["metrics.units"]})
    return out


def test_the_rounds_summary_results_json_is_an_official_table(log_samples, ds, tmp_path):
    root = tmp_path / "inference_results_v4.1"
    n = build_round(log_samples, root)
    mlperf.import_tree(root, tmp_path / "first")
    rows = _rows(tmp_path / "first")
    good = tmp_path / "summary_results.json"
    good.write_text(json.dumps(_summary_results(rows)))
    off = mlperf.import_tree(root, ds, summary_csv=good).extra["official"]
    assert (off["compared"], off["agree"], off["disagree"], off["not_in_official"]) == (n, n, [], [])
    bad = tmp_path / "bad" / "summary_results.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(_summary_results(rows, lambda r: 1.01 if r["submission.scenario"] == "Offline" else 1.0)))
    off = mlperf.import_tree(root, tmp_path / "ds2", summary_csv=bad).extra["official"]
    offline = sum(r["submission.scenario"] == "Offline" for r in rows)
    assert offline and len(off["disagree"]) == offline and off["agree"] == n - offline
    broken = tmp_path / "broken.json"
    broken.write_text('{"not": "a list"}')
    with pytest.raises(DatasetError, match="expected a list of results"):
        mlperf.import_tree(root, tmp_path / "ds3", summary_csv=broken)
