"""Contribution bundles: pack rows with their raw files, merge them back with every figure
re-derived from the logs; a bundle whose figures do not match its logs is rejected whole."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import openmlperf
from openmlperf import bundle
from openmlperf.errors import BundleRejected, DatasetError
from openmlperf.importers import mlperf, published

SERVER = "\"submission.scenario\" = 'Server'"


@pytest.fixture
def origin(log_samples, tmp_path):
    ds = tmp_path / "origin"
    mlperf.import_tree(log_samples, ds)
    return ds


@pytest.fixture
def packed(origin, tmp_path):
    return bundle.contribute(tmp_path / "bundle", dataset_dir=origin, where=SERVER, contributor="tester")


def _rewrite_rows(b, change) -> None:
    """Change rows.parquet and fix its checksum, as a careful forger would."""
    import pyarrow.parquet as pq

    from openmlperf import schema

    rows = pq.read_table(b / "rows.parquet").to_pylist()
    change(rows)
    pq.write_table(schema.to_table(rows), b / "rows.parquet")
    _fix_checksum(b, "rows.parquet")


def _fix_checksum(b, rel) -> None:
    m = json.loads((b / "manifest.json").read_text())
    m["files"][rel] = hashlib.sha256((b / rel).read_bytes()).hexdigest()
    (b / "manifest.json").write_text(json.dumps(m))


def _nothing_written(ds) -> bool:
    return not (ds / "sources").exists() and not (ds / "contributions").exists()


def test_pack_and_merge_rederives_every_figure(origin, packed, tmp_path):
    manifest = json.loads((packed / "manifest.json").read_text())
    assert manifest["format"] == bundle.FORMAT and manifest["contributor"] == "tester"
    assert all(hashlib.sha256((packed / rel).read_bytes()).hexdigest() == d for rel, d in manifest["files"].items())
    assert len(manifest["rows"]) == 4 and all("mlperf_log_detail.txt" in e["files"] for e in manifest["rows"])
    fresh = tmp_path / "fresh"
    report = bundle.merge(packed, fresh)
    assert (report.rows_stored, report.rows_added, report.skipped) == (4, 4, [])
    q = 'select "result.id", "metrics.result", "metrics.ttft.p99" from results order by 1'
    assert openmlperf.query(q, fresh).to_pylist() == openmlperf.query(q.replace("from results",
                                                                                  f"from results where {SERVER}"),
                                                                        origin).to_pylist()
    rows = openmlperf.query('select "provenance.source_kind" k, "provenance.source" s, "provenance.files" f, '
                            '"provenance.contribution" c from results', fresh).to_pylist()
    assert {r["k"] for r in rows} == {"contribution"} and {r["c"] for r in rows} == {report.extra["bundle_id"]}
    for r in rows:
        assert all((tmp_path / r["s"] / f).is_file() for f in json.loads(r["f"]))
    # merged rows can be contributed again from the dataset's own copy of the raw files
    again = bundle.contribute(tmp_path / "again", dataset_dir=fresh, where="true")
    assert bundle.merge(again, tmp_path / "third").rows_stored == 4


def test_merge_is_idempotent_and_deduplicates(origin, packed, tmp_path):
    fresh = tmp_path / "fresh"
    assert bundle.merge(packed, fresh).rows_added == 4
    assert bundle.merge(packed, fresh).rows_added == 0
    into_origin = bundle.merge(packed, origin)
    assert (into_origin.rows_stored, into_origin.duplicates_elsewhere) == (0, 4)
    assert openmlperf.query("select count(*) n from results", origin).to_pylist() == [{"n": 9}]


def test_archive_bundle(origin, tmp_path):
    arch = bundle.contribute(tmp_path / "b", dataset_dir=origin, where=SERVER, archive=True)
    assert arch.name == "b.tar.gz" and arch.is_file()
    assert bundle.merge(arch, tmp_path / "fresh").rows_stored == 4


def test_a_tampered_figure_is_rejected_and_nothing_is_merged(packed, tmp_path):
    def inflate(rows):
        rows[0]["metrics.result"] *= 1.10
    _rewrite_rows(packed, inflate)
    fresh = tmp_path / "fresh"
    with pytest.raises(BundleRejected, match=r"do not match its logs, first metrics.result"):
        bundle.merge(packed, fresh)
    assert _nothing_written(fresh)


def test_a_tampered_percentile_or_validity_is_rejected(packed, tmp_path):
    def flip(rows):
        r = next(r for r in rows if r["metrics.ttft.p99"] is not None)
        r["metrics.ttft.p99"] = r["metrics.ttft.p99"] / 2
    _rewrite_rows(packed, flip)
    with pytest.raises(BundleRejected, match="metrics.ttft.p99"):
        bundle.merge(packed, tmp_path / "fresh")


def test_a_tampered_log_is_rejected(packed, tmp_path):
    rel = next(r for r in json.loads((packed / "manifest.json").read_text())["files"] if r.endswith("detail.txt"))
    log = packed / rel
    text = log.read_text()
    import re

    text = re.sub(r'("key": "result_completed_(?:samples_per_sec|tokens_per_second)", "value": )([\d.]+)',
                  lambda m: m.group(1) + str(float(m.group(2)) * 2), text)
    log.write_text(text)
    _fix_checksum(packed, rel)
    with pytest.raises(BundleRejected, match="do not match its logs"):
        bundle.merge(packed, tmp_path / "fresh")


def test_changed_or_extra_files_fail_the_checksums(packed, tmp_path):
    (packed / "rows.parquet").write_bytes((packed / "rows.parquet").read_bytes() + b"\0")
    with pytest.raises(BundleRejected, match="sha256 does not match"):
        bundle.merge(packed, tmp_path / "a")
    other = tmp_path / "other"
    shutil.copytree(packed, other)
    (other / "files" / "extra.txt").write_text("x")
    with pytest.raises(BundleRejected, match="files not in the manifest"):
        bundle.merge(other, tmp_path / "b")


def test_a_row_outside_the_schema_is_rejected(packed, tmp_path):
    def bad(rows):
        rows[0]["submission.scenario"] = "Batch"
    _rewrite_rows(packed, bad)
    with pytest.raises(BundleRejected, match="submission.scenario 'Batch'"):
        bundle.merge(packed, tmp_path / "fresh")


def test_rows_without_raw_logs_cannot_be_contributed(published_parquet, ds, tmp_path):
    published.import_file(published_parquet, ds)
    with pytest.raises(DatasetError, match="published-dataset row carries no raw logs"):
        bundle.contribute(tmp_path / "b", dataset_dir=ds, where="true")
    with pytest.raises(DatasetError, match="no rows match"):
        bundle.contribute(tmp_path / "b", dataset_dir=ds, ids=["0000"])
