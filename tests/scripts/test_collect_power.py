"""collect,power end to end: real short FlexBench runs (the instant _noop backend, real LoadGen)
measured through a powercap tree a thread advances, a scripted MLPerf power server on
127.0.0.1, the TDP estimate, and the machine's own (absent) power sources.

Uses the shared FlexBench test home (see test_flexbench.py): the benchmark venv is built once."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from flexbench.loadgen_log import parse_detail
from tests.conftest import ROOT, run_cmx
from tests.flexbench.power.powercap_tree import FakePowercap
from tests.flexbench.power.ptd_peer import PtdPeer

# a ~1 s LoadGen window: 400 Server queries at 400/s with the instant backend
WORKLOAD = ["--workload_tags=run,flexbench,_noop,_server,_performance",
            '--workload_args=["--samples=32", "--min_query_count=400", "--target_qps=400"]']
REQUIRED_POWER_FILES = ["client.json", "client.log", "ptd_logs.txt", "server.json", "server.log"]  # MLPerf checker


def cmx(home: Path, *args: str):
    return run_cmx(*args, home=home, timeout=1800)


def local(text: str) -> float:
    return datetime.strptime(text, "%m-%d-%Y %H:%M:%S.%f").timestamp()


READER_SLACK_S = 0.1  # a reading's time stamp comes right after its read; allowed: up to 0.1 s after


def _edge_samples(rows: list[dict], t: float) -> list[dict]:
    """The two samples around ``t`` (the ones the window's edge is interpolated between)."""
    before = [r for r in rows if float(r["time_unix_s"]) <= t]
    after = [r for r in rows if float(r["time_unix_s"]) > t]
    return before[-1:] + after[:1]


def assert_energy_matches_the_fake(fake: FakePowercap, rows: list[dict], t0: float, t1: float, energy_j: float) -> None:
    """The energy between t0 and t1 (interpolated between the samples around each) is the fake's
    package watts times t1 - t0, give or take what the readings around the edges could lag behind
    the fake's clock (from the writes the fake recorded: a writer thread that was late on a loaded
    machine widens it, a few ms on an idle one). A zone summed twice, a missed wrap (25 J), a wrong
    window or unit is far outside it."""
    lag = max(fake.lag_bound(float(r["time_unix_s"]), READER_SLACK_S)
              for r in _edge_samples(rows, t0) + _edge_samples(rows, t1))
    assert abs(energy_j - fake.package_watts * (t1 - t0)) <= fake.package_watts * lag + 1e-3, (energy_j, t1 - t0, lag)


def test_auto_with_no_power_source_gives_no_numbers(fhome, tmp_path):
    """No GPU and no readable RAPL counters (an empty powercap root): a clear error, exit 1, no figures."""
    empty = tmp_path / "powercap"
    empty.mkdir()
    res = cmx(fhome, "run", "script", "--tags=collect,power", *WORKLOAD, f"--powercap_root={empty}", "-j")
    assert res.code == 1
    err = res.json["error"]
    assert "no power source available" in err and "NVML" in err and f"RAPL energy counters under {empty}" in err
    assert "No numbers were recorded" in err and "Traceback" not in res.err
    assert "run-flexbench" not in res.err  # it refused before running the workload


def test_rapl_end_to_end_matches_the_counters_the_thread_wrote(fhome, tmp_path):
    root = tmp_path / "powercap"
    with FakePowercap(root) as fake:
        res = cmx(fhome, "run", "script", "--tags=collect,power,_rapl", *WORKLOAD, f"--powercap_root={root}",
                  "--interval_ms=20", "-j")
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    power = json.loads(Path(env["CMX_POWER_JSON"]).read_text())
    out = Path(env["CMX_POWER_RESULT_DIR"])
    w = power["window"]
    detail = parse_detail(out / "performance" / "mlperf_log_detail.txt")
    assert (w["power_begin"], w["power_end"]) == (detail.get("power_begin"), detail.get("power_end"))
    duration = local(w["power_end"]) - local(w["power_begin"])
    assert duration > 0.5 and power["samples"]["in_window"] > 5
    # 30 W + 20 W packages; their subzones, psys and the MMIO copy are not counted
    assert fake.package_watts == 50.0
    rows = list(csv.DictReader(Path(env["CMX_POWER_SAMPLES_CSV"]).open()))
    t0, t1 = local(w["power_begin"]), local(w["power_end"])
    assert_energy_matches_the_fake(fake, rows, t0, t1, power["energy_j"])
    assert power["avg_power_w"] == pytest.approx(power["energy_j"] / duration)
    assert power["backend_details"]["wraps"]["intel-rapl:0(package-0)"] >= 1  # 25 J range at 30 W
    assert power["backend"] == "rapl" and power["estimate"] is False and power["method"] == "counter_difference"
    sps, tps = power["run"]["samples_per_second"], power["run"]["tokens_per_second"]
    assert power["joules_per_sample"] == pytest.approx(power["avg_power_w"] / sps)
    assert power["joules_per_token"] == pytest.approx(power["avg_power_w"] / tps)
    assert power["samples_per_second_per_watt"] == pytest.approx(sps / power["avg_power_w"])
    assert power["tokens_per_second_per_watt"] == pytest.approx(tps / power["avg_power_w"])
    result = json.loads((out / "result.json").read_text())
    assert result["power"]["energy_j"] == power["energy_j"] and result["summary"]["scenario"] == "Server"
    assert env["CMX_POWER_BACKEND"] == "rapl" and env["CMX_POWER_ESTIMATE"] == "no"
    assert float(env["CMX_POWER_AVG_W"]) == pytest.approx(power["avg_power_w"], rel=1e-5)
    # the CSV holds every sample with its time: the window can be cut again from it
    assert len(rows) == power["samples"]["total"]
    inside = [r for r in rows if t0 <= float(r["time_unix_s"]) <= t1]
    assert len(inside) == power["samples"]["in_window"]
    e_inside = float(inside[-1]["value"]) - float(inside[0]["value"])
    assert_energy_matches_the_fake(fake, rows, float(inside[0]["time_unix_s"]), float(inside[-1]["time_unix_s"]),
                                   e_inside)


def test_ptdaemon_ranging_then_testing_gives_the_checker_layout(fhome):
    with PtdPeer() as peer:
        res = cmx(fhome, "run", "script", "--tags=collect,power,_ptdaemon", *WORKLOAD, "--ptd_addr=127.0.0.1",
                  f"--ptd_port={peer.port}", "--ptd_label=flexbench", "-j")
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    out = Path(env["CMX_POWER_RESULT_DIR"])
    perf = out / "performance"
    assert sorted(p.name for p in (perf / "power").iterdir()) == REQUIRED_POWER_FILES
    assert sorted(p.name for p in (perf / "ranging").iterdir()) == ["mlperf_log_detail.txt", "mlperf_log_summary.txt",
                                                                   "spl.txt"]
    assert (perf / "spl.txt").is_file() and (out / "ptd_out.txt").is_file()
    # two real runs: the ranging run's LoadGen log is another run's
    ranging = parse_detail(perf / "ranging" / "mlperf_log_detail.txt")
    testing = parse_detail(perf / "mlperf_log_detail.txt")
    assert local(ranging.get("power_end")) <= local(testing.get("power_begin"))
    sid = "2023-02-23_22-16-50"
    assert [c for c in peer.commands if c.startswith("session,")] == [
        f"session,{sid},start,ranging", f"session,{sid},stop,ranging", f"session,{sid},start,testing",
        f"session,{sid},stop,testing", f"session,{sid},done"]
    client = json.loads((perf / "power" / "client.json").read_text())
    for key in ("version", "timezone", "modules", "sources", "messages", "uuid", "session_name", "results", "phases"):
        assert key in client, key  # power_checker.py's required fields
    assert client["session_name"] == sid and client["messages"][0]["reply"] == "mlcommons/power server v3"
    # the peer's clock is 134.5 ms behind: each offset within half its own round trip of that
    assert client["time_offsets"] and all(abs(o["offset_ms"] + 134.5) <= o["round_trip_ms"] / 2 + 0.01
                                          for o in client["time_offsets"])
    assert (perf / "power" / "server.json").read_bytes() == peer.files["power/server.json"]
    # the average is MLPerf's: the mean of the analyser's Watts strictly inside LoadGen's window
    t0, t1 = local(testing.get("power_begin")), local(testing.get("power_end"))
    watts = [float(f[3]) for f in (line.split(",") for line in (perf / "spl.txt").read_text().splitlines())
             if t0 < local(f[1]) < t1]
    power = json.loads((out / "power.json").read_text())
    assert power["avg_power_w"] == pytest.approx(sum(watts) / len(watts)) and power["samples"]["in_window"] == len(watts)
    assert power["energy_j"] == pytest.approx(power["avg_power_w"] * (t1 - t0))
    assert power["backend"] == "ptdaemon" and power["estimate"] is False
    assert power["method"] == "mean_of_samples_in_window"
    assert power["backend_details"]["session"] == sid
    assert json.loads((out / "result.json").read_text())["power"]["backend"] == "ptdaemon"


def test_estimate_is_labelled_everywhere(fhome):
    res = cmx(fhome, "run", "script", "--tags=collect,power,_estimate", *WORKLOAD, "--tdp_w=65", "--interval_ms=50",
              "-j")
    assert res.code == 0, res.err[-3000:]
    env = res.json["new_env"]
    assert env["CMX_POWER_ESTIMATE"] == "yes" and "ESTIMATE" in env["CMX_POWER_LABEL"]
    power = json.loads(Path(env["CMX_POWER_JSON"]).read_text())
    assert power["estimate"] is True and power["label"].startswith("ESTIMATE") and power["source"].startswith("ESTIMATE")
    assert power["backend_details"]["ESTIMATE"] is True and 0 <= power["avg_power_w"] <= 65
    result = json.loads((Path(env["CMX_POWER_RESULT_DIR"]) / "result.json").read_text())
    assert result["power"]["estimate"] is True and result["power"]["label"].startswith("ESTIMATE")
    rows = list(csv.DictReader(Path(env["CMX_POWER_SAMPLES_CSV"]).open()))
    assert rows and all(r["source"].startswith("ESTIMATE") for r in rows)
    assert "(estimate, ESTIMATE)" in res.err and "ESTIMATE (TDP x CPU utilisation, not a measurement)" in res.err
    readme = (ROOT / "scripts" / "collect-power" / "README.md").read_text()
    assert "ESTIMATE" in readme


def test_nvml_without_a_driver_is_a_clear_error(fhome):
    res = cmx(fhome, "run", "script", "--tags=collect,power,_nvml", *WORKLOAD, "-j")
    assert res.code == 1
    assert "NVML cannot start" in res.json["error"] and "no NVIDIA driver" in res.json["error"]
    assert "Traceback" not in res.err


def test_a_command_workload_with_its_loadgen_folder(fhome, tmp_path):
    """--command: any argv (here FlexBench through cmx, writing to a folder we name)."""
    out = tmp_path / "bench"
    command = [sys.executable, "-m", "cmx.cli.main", "run", "script", "--tags=run,flexbench,_noop,_server,_performance",
               "--samples=32", "--min_query_count=400", "--target_qps=400", f"--out_dir={out}"]
    root = tmp_path / "powercap"
    with FakePowercap(root) as fake:
        res = cmx(fhome, "run", "script", "--tags=collect,power,_rapl", f"--command={json.dumps(command)}",
                  f"--loadgen_logs={out}", f"--powercap_root={root}", "--interval_ms=20", "-j")
    assert res.code == 0, res.err[-3000:]
    power = json.loads((out / "power.json").read_text())
    rows = list(csv.DictReader(Path(res.json["new_env"]["CMX_POWER_SAMPLES_CSV"]).open()))
    w = power["window"]
    assert_energy_matches_the_fake(fake, rows, local(w["power_begin"]), local(w["power_end"]), power["energy_j"])
    assert power["workload"]["argv"] == command


@pytest.mark.parametrize("args, message", [
    (["--workload_tags=run,flexbench", '--command=["true"]'], "exactly one of --workload_tags"),
    (["--workload_tags=run,flexbench", "--workload_args=--samples=8"], "--workload_args is not JSON"),
    (['--command=["true"]'], "--command needs --loadgen_logs"),
    (["--workload_tags=run,flexbench", '--workload_args=["-j"]'], "every item must be a '--name=value'"),
    (["--workload_tags=run,flexbench"], "_ptdaemon needs --ptd_addr"),
    (["--workload_tags=run,flexbench", '--workload_args=["--env.HF_TOKEN=sekrit123"]'],
     "--env.HF_TOKEN is a secret and would be recorded"),
    (['--command=["bench", "--api_key=sekrit123"]', "--loadgen_logs=/tmp"], "--api_key is a secret"),
    (["--workload_tags=run,flexbench", "--ptd_addr=127.0.0.1", "--ptd_port=70000"], "--ptd_port=70000 is not a TCP"),
    (["--workload_tags=run,flexbench", "--ptd_addr=127.0.0.1", "--ntp_server=pool:ntp"], "expected HOST or HOST:PORT"),
])
def test_bad_inputs_fail_with_one_line(fhome, args, message):
    tags = "--tags=collect,power,_ptdaemon" if "ptdaemon" in message else "--tags=collect,power,_rapl"
    tags = "--tags=collect,power,_ptdaemon" if "ptd_addr" in " ".join(args) else tags
    res = cmx(fhome, "run", "script", tags, *args, "-j")
    assert res.code != 0 and message in res.json["error"], res.err[-2000:]
    # (cmx's own "re-run" line repeats the inputs as given: only the message is ours)
    assert "Traceback" not in res.err and "sekrit123" not in res.json["error"].splitlines()[0]


def test_a_secret_from_the_environment_reaches_the_workload_and_no_file(fhome, tmp_path):
    """HF_TOKEN in the environment (the way to give it): nothing collect,power or the run writes holds it."""
    out = tmp_path / "bench"
    root = tmp_path / "powercap"
    args = json.loads(WORKLOAD[1].split("=", 1)[1]) + [f"--out_dir={out}"]
    with FakePowercap(root):
        res = run_cmx("run", "script", "--tags=collect,power,_rapl", WORKLOAD[0], f"--workload_args={json.dumps(args)}",
                      f"--powercap_root={root}", "--interval_ms=20", "--env.HF_TOKEN=sekrit123", "-j",
                      home=fhome, timeout=1800, env={"HF_TOKEN": "sekrit123"})
    assert res.code == 0, res.err[-3000:]
    assert Path(res.json["new_env"]["CMX_POWER_JSON"]) == out / "power.json"
    recipe_run = Path(res.json["cache_path"])  # power-config.json, tmp-run.sh, cmx-lock.json, the log
    assert (recipe_run / "power-config.json").is_file()
    leaks = [str(f) for d in (out, recipe_run) for f in d.rglob("*") if f.is_file() and b"sekrit123" in f.read_bytes()]
    assert not leaks and "sekrit123" not in res.out


def test_recorded_argv_hides_secret_values():
    from flexbench.power.workload import public_argv

    argv = ["python", "--env.HF_TOKEN=x1", "--openai_api_key=x2", "--max_tokens=3", "--samples=8", "-j"]
    assert public_argv(argv) == ("python", "--env.HF_TOKEN=***", "--openai_api_key=***", "--max_tokens=3",
                                 "--samples=8", "-j")
