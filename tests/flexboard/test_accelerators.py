from __future__ import annotations

import csv

from flexboard import accelerators


def test_every_accelerator_of_the_published_dataset_has_a_row_with_a_source(published_parquet):
    import pyarrow.parquet as pq

    names = set(pq.read_table(published_parquet, columns=["system.accelerator.name"]).column(0).to_pylist())
    for n in names - {None}:
        acc = accelerators.lookup(n)
        assert acc is not None, n
        assert acc.source.startswith("https://"), acc.key
        assert acc.memory_gb and acc.bandwidth_gbs, acc.key


def test_variants_of_one_part_are_one_accelerator_and_gb200_is_not_b200():
    assert accelerators.canonical("NVIDIA H200-SXM-141GB-CTS") == accelerators.canonical("NVIDIA H200-SXM-141GB")
    assert accelerators.canonical("Virtualized NVIDIA H100-SXM-80GB") == "h100-sxm-80gb"
    assert accelerators.canonical("NVIDIA GB200") == "gb200"
    assert accelerators.canonical("NVIDIA B200-SXM-180GB") == "b200-sxm-180gb"


def test_unknown_values_are_empty_not_zero():
    with accelerators.DATA.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            for k in accelerators.NUMERIC:
                assert r[k] == "" or float(r[k]) > 0, (r["key"], k)
    orin = accelerators.by_key("jetson-agx-orin-64gb")
    assert orin is not None and orin.fp16_dense_tflops is None and orin.peak_tflops(1.0) is None


def test_every_table_key_is_a_name_the_table_knows():
    for _p, a in accelerators.table():
        assert accelerators.lookup(a.key) is a, a.key
