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


# the accelerator names of MLPerf Inference v5.1's LLM results that earlier rounds did not have, as
# its systems/*.json write them (mlcommons/inference_results_v5.1): without a row, 30 of v5.1's LLM
# rows had no accelerator characteristics and were predicted from the fallback bound alone
V51_NEW = {
    "NVIDIA GB300": "gb300",
    "AMD Instinct MI355X 288GB HBM3e": "mi355x-288gb",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "rtx-pro-6000-blackwell-server",
    "[MAXSUN] MS-Intel Arc Pro B60 Dual 48G Turbo": "arc-pro-b60-dual-48gb",
}


def test_the_accelerators_new_in_v51_have_rows_with_a_source_and_gb300_is_not_gb200():
    for name, key in V51_NEW.items():
        acc = accelerators.lookup(name)
        assert acc is not None and acc.key == key, name
        assert acc.source.startswith("https://"), key
        assert acc.memory_gb and acc.bandwidth_gbs, key
    assert accelerators.canonical("NVIDIA GB300") != accelerators.canonical("NVIDIA GB200")
    # the parts whose datasheet gives no dense FP16/FP8 figure leave them empty rather than guess
    assert accelerators.by_key("arc-pro-b60-dual-48gb").peak_tflops(1.0) is None
