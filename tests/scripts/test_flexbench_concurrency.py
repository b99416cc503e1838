"""FlexBench's concurrency load mode and the concurrency sweep, against a streaming server on
127.0.0.1 (tests/scripts/sse_server.py), through real LoadGen in the shared benchmark venv."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cmx
from tests.scripts.sse_server import SSEServer

COMMON = ("--samples=16", "--max_output_tokens=8", "--api_model=test-model")


def test_concurrency_mode_keeps_that_many_requests_in_flight(fhome):
    with SSEServer(tokens=8, ttft_s=0.01, delay_s=0.003) as server:
        res = run_cmx("run", "script", "--tags=run,flexbench,_openai,_performance", *COMMON, "--concurrency=4",
                      f"--api_base={server.url}", "-j", home=fhome, timeout=1800)
        assert res.code == 0, res.err[-3000:]
        assert 1 <= server.max_in_flight <= 4  # the server never saw more than four at once
    result = json.loads(Path(res.json["new_env"]["CMX_FLEXBENCH_RESULT"]).read_text())
    s = result["summary"]
    assert s["load_mode"] == "concurrency" and s["concurrency"] == 4 and s["max_in_flight"] == 4
    assert s["token_latency_source"] == "sut"
    assert s["ttft_ms"]["min"] >= 10  # from the request's sending: at least the server's first-token delay
    assert s["tpot_ms"]["p90"] > 0  # (the streamed words are several tokens each: no bound from the server's delay)
    assert s["tokens_per_second_per_user"] == 1000.0 / s["tpot_ms"]["p90"]
    assert s["tokens_per_second"] > 0


def test_concurrency_needs_offline(fhome):
    res = run_cmx("run", "script", "--tags=run,flexbench,_noop,_server,_performance", "--concurrency=2",
                  "--samples=4", home=fhome, timeout=1800)
    assert res.code == 1 and "closed loop under LoadGen Offline" in res.err


def test_concurrency_sweep_gives_the_pareto_curve(fhome, tmp_path):
    with SSEServer(tokens=8, ttft_s=0.005, delay_s=0.002) as server:
        res = run_cmx("run", "experiment", "--tags=run,flexbench,_openai,_performance", *COMMON,
                      f"--api_base={server.url}", "--explore.concurrency=1,2,4", "--pareto",
                      f"--experiment_dir={tmp_path / 'sweep'}", "-j", home=fhome, timeout=1800)
        assert res.code == 0, res.err[-3000:]
    out = res.json
    rows = {int(p["inputs"]["concurrency"]): p for p in out["points"]}
    assert sorted(rows) == [1, 2, 4] and all(p["status"] == "ok" for p in rows.values())
    import csv

    with open(out["tables"]["csv"], newline="") as fh:
        table = {int(r["concurrency"]): r for r in csv.DictReader(fh)}
    for c, r in table.items():
        assert int(r["max_in_flight"]) == c
        assert abs(float(r["tokens_per_second_per_user"]) - 1000 / float(r["tpot_p90_ms"])) < 1e-6
        assert Path(r["result_json"]).is_file()
    front = out["pareto"]["points"]
    assert front and all(table[c]["pareto"] == ("True" if i in front else "False")
                         for i, c in enumerate(sorted(table)))
    assert Path(out["pareto"]["png"]).read_bytes()[:4] == b"\x89PNG"
    assert "Pareto" in res.err or "pareto" in res.err


def test_server_qps_search_finds_the_largest_valid_rate_then_points_below(fhome, tmp_path):
    res = run_cmx("run", "experiment", "--tags=run,flexbench,_noop,_server,_performance", "--samples=32",
                  "--min_query_count=500", "--search.target_qps=200:800", "--search_steps=1", "--search_points=2",
                  f"--experiment_dir={tmp_path / 'qps'}", "-j", home=fhome, timeout=1800)
    assert res.code == 0, res.err[-3000:]
    out = res.json
    found = out["search"]["max"]
    roles = {float(p["inputs"]["target_qps"]): p["role"] for p in out["points"]}
    import csv

    with open(out["tables"]["csv"], newline="") as fh:
        valid = {float(r["target_qps"]): r["valid"] == "True" for r in csv.DictReader(fh)}
    assert valid[found] and found == max(q for q, ok in valid.items() if ok)  # the largest VALID probe
    assert [float(v) for v in out["search"]["points"]] == [found / 2, found]
    assert roles[found] == "probe+point" and roles[200] in ("probe", "probe+point")
    assert "largest VALID target_qps" in res.err
