"""detect-memory: run for real; totals must equal what psutil reports on this machine."""

from __future__ import annotations

import psutil


def test_totals_match_psutil(cmx):
    res = cmx("run", "script", "--tags=detect,memory", "-j")
    assert res.code == 0, res.err
    env = res.json["new_env"]
    assert int(env["CMX_MEMORY_TOTAL_BYTES"]) == psutil.virtual_memory().total
    assert int(env["CMX_MEMORY_SWAP_TOTAL_BYTES"]) == psutil.swap_memory().total
    assert 0 < int(env["CMX_MEMORY_AVAILABLE_BYTES"]) <= int(env["CMX_MEMORY_TOTAL_BYTES"])
    assert 0 <= int(env["CMX_MEMORY_SWAP_FREE_BYTES"]) <= int(env["CMX_MEMORY_SWAP_TOTAL_BYTES"])


def test_gib_values_are_the_bytes_in_gib(cmx):
    env = cmx("run", "script", "--tags=detect,memory", "-j").json["new_env"]
    for key in ("TOTAL", "AVAILABLE", "SWAP_TOTAL", "SWAP_FREE"):
        assert env[f"CMX_MEMORY_{key}_GIB"] == f"{int(env[f'CMX_MEMORY_{key}_BYTES']) / 2**30:.2f}"


def test_every_export_is_declared(cmx):
    res = cmx("run", "script", "--tags=detect,memory", "-j").json
    assert sorted(res["new_env"]) == sorted(f"CMX_MEMORY_{k}_{u}" for k in ("TOTAL", "AVAILABLE", "SWAP_TOTAL", "SWAP_FREE")
                                            for u in ("BYTES", "GIB"))


def test_declared_meta_tests_pass(cmx):
    res = cmx("test", "script", "detect-memory")
    assert res.code == 0, res.out + res.err
