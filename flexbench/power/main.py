"""``python -m flexbench.power.main CONFIG.json``: run a workload under a power backend and
write power.json into its result folder. The ``collect,power`` recipe writes the config.

Config keys: ``backend`` (auto, rapl, nvml, ptdaemon, estimate), ``interval_ms``,
``powercap_root``, ``tdp_w``, ``workload_tags`` + ``workload_args`` (a cmx recipe, run with
``cmx_python -m cmx.cli.main run script ... -j``) or ``command`` (an argv list) +
``loadgen_logs``, ``ptd`` (``addr``, ``port``, ``label``, ``max_offset_ms``, ``ntp_server``,
``timeout_s``), ``work_dir`` and ``outcome`` (a JSON file for the recipe to read back).
Exit 0 on success, 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from flexbench.power import PowerError, nvml, ptdaemon, rapl, record
from flexbench.power import workload as wl
from flexbench.power.estimate import EstimateSampler
from flexbench.fileio import atomic_write_text
from flexbench.power.samples import integrate, mean_in_window, write_csv
from flexbench.power.window import read_run

BACKENDS = ("auto", "rapl", "nvml", "ptdaemon", "estimate")


def choose_backend(powercap_root: Path) -> str:
    """NVML if it sees a GPU, else RAPL if its counters are readable, else a clear error."""
    why_nvml = nvml.available() if _can_import_nvml() else "nvidia-ml-py (pynvml) is not installed"
    if why_nvml is None:
        return "nvml"
    why_rapl = rapl.readable(powercap_root)
    if why_rapl is None:
        return "rapl"
    raise PowerError(
        "no power source available: looked for NVIDIA GPUs through NVML (" + why_nvml + ") and for RAPL energy "
        f"counters under {powercap_root} (" + why_rapl + "). No numbers were recorded. Use _ptdaemon with an MLPerf "
        "power analyser, or _estimate --tdp_w=W for a TDP-based figure that is labelled as an ESTIMATE.")


def _can_import_nvml() -> bool:
    try:
        import pynvml  # noqa: F401
    except ImportError:
        return False
    return True


def _workload(cfg: dict[str, Any]) -> wl.Workload:
    tags, command = cfg.get("workload_tags"), cfg.get("command")
    if bool(tags) == bool(command):
        raise PowerError("give exactly one of --workload_tags=TAGS (a cmx recipe) or --command='[JSON argv]'")
    if tags:
        return wl.recipe_workload(cfg.get("cmx_python") or sys.executable, str(tags), list(cfg.get("workload_args") or []),
                                  cfg.get("cmx_home"))
    return wl.command_workload(list(command), cfg.get("loadgen_logs"))


def _override_logs(cfg: dict[str, Any], workload: wl.Workload) -> Path | None:
    """--loadgen_logs also applies to a recipe workload (it wins over the recipe's -j output)."""
    if workload.is_recipe and cfg.get("loadgen_logs"):
        return Path(str(cfg["loadgen_logs"])).expanduser().resolve()
    return None


def _workload_record(run: wl.WorkloadRun) -> dict[str, Any]:
    return {"argv": list(wl.public_argv(run.argv)), "exit_code": run.exit_code, "started_unix_s": run.started,
            "ended_unix_s": run.ended, "result_dir": str(run.result.root), "loadgen_dir": str(run.result.perf)}


def sampled(cfg: dict[str, Any], backend: str, workload: wl.Workload, interval_s: float) -> tuple[dict[str, Any], Path]:
    root = Path(str(cfg.get("powercap_root") or rapl.DEFAULT_ROOT))
    sampler: Any
    if backend == "rapl":
        sampler = rapl.RaplSampler(root, interval_s)
    elif backend == "nvml":
        sampler = nvml.NvmlSampler(interval_s)
    else:
        tdp = cfg.get("tdp_w")
        sampler = EstimateSampler(float(tdp) if tdp not in (None, "") else None, interval_s)
    sampler.start()
    try:
        run = wl.run(workload, _override_logs(cfg, workload))
    except BaseException:
        try:
            sampler.stop()
        except PowerError:
            pass
        raise
    res = sampler.stop()
    figures = read_run(run.result.perf)
    energy = integrate(res.series, figures.window)
    details: dict[str, Any]
    if backend == "rapl":
        details = {"powercap_root": str(root), "zones": list(res.zones), "wraps": res.wraps}
    elif backend == "nvml":
        details = {"gpus": list(res.gpus), "nvml_method": res.method}
    else:
        details = {"tdp_w": res.tdp_w, "model": "tdp_w x psutil.cpu_percent (system-wide)", "ESTIMATE": True}
    write_csv(run.result.root / record.SAMPLES_CSV, res.series)
    power = record.build(backend=backend, estimate=backend == "estimate", source=res.series.source, figures=figures,
                         energy=energy, samples_total=len(res.series.samples), interval_s=interval_s,
                         details=details, workload=_workload_record(run))
    return power, run.result.root


def _client_logger(buffer: list[str]) -> logging.Logger:
    class ListHandler(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            buffer.append(self.format(rec))

    log = logging.getLogger("flexbench.power.ptd-client")
    log.handlers.clear()
    log.propagate = False
    log.setLevel(logging.INFO)
    fmt = logging.Formatter("client %(asctime)s [%(levelname)s] %(message)s")
    for h in (ListHandler(), logging.StreamHandler(sys.stderr)):
        h.setFormatter(fmt)
        log.addHandler(h)
    return log


def with_ptdaemon(cfg: dict[str, Any], workload: wl.Workload) -> tuple[dict[str, Any], Path]:
    p = cfg.get("ptd") or {}
    if not p.get("addr"):
        raise PowerError("_ptdaemon needs --ptd_addr=HOST (the power server on the director machine)")
    lines: list[str] = []
    log = _client_logger(lines)
    client = ptdaemon.PtdClient(str(p["addr"]), int(p.get("port") or ptdaemon.DEFAULT_PORT),
                                label=str(p.get("label") or ""), timeout_s=float(p.get("timeout_s") or 120),
                                max_offset_ms=float(p.get("max_offset_ms") or ptdaemon.MAX_OFFSET_MS), log=log)
    work = Path(str(cfg.get("work_dir") or ".")).resolve() / "ptd-ranging"
    runs: dict[str, wl.WorkloadRun] = {}
    try:
        client.connect()
        if p.get("ntp_server"):
            text = str(p["ntp_server"])
            host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
            if not host or (port and not (port.isdigit() and 0 < int(port) <= 65535)):
                raise PowerError(f"--ntp_server={text!r}: expected HOST or HOST:PORT")
            ntp = ptdaemon.ntp_offset(host, int(port or 123))
            client.summary.ntp.append({"server": str(p["ntp_server"]), **ntp})
            log.info("NTP offset to %s: %+.3f ms (delay %.3f ms)", p["ntp_server"], ntp["offset_ms"], ntp["delay_ms"])
        client.check_time("session start")
        client.new_session()
        for mode in ptdaemon.MODES:
            client.check_time(f"{mode} start")
            client.start(mode)
            client.check_time(f"{mode} before the workload")
            log.info("running the workload (%s): %s", mode, " ".join(wl.public_argv(workload.argv)))
            run = wl.run(workload, _override_logs(cfg, workload))
            client.check_time(f"{mode} after the workload")
            client.stop(mode)
            runs[mode] = run
            if mode == "ranging":  # a command may write the testing run's logs to the same place
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                for name in ("mlperf_log_detail.txt", "mlperf_log_summary.txt"):
                    if (run.result.perf / name).is_file():
                        shutil.copy2(run.result.perf / name, work / name)
        testing = runs["testing"].result
        perf = testing.perf
        power_dir, ranging_dir = perf / "power", perf / "ranging"
        shutil.rmtree(ranging_dir, ignore_errors=True)
        shutil.copytree(work, ranging_dir)
        log.info("runs done; ranging logs in %s", ranging_dir)
        atomic_write_text(power_dir / "client.log", "\n".join(lines) + "\n")
        results = ptdaemon.hash_tree({
            "power/client.log": power_dir / "client.log",
            "ranging/mlperf_log_detail.txt": ranging_dir / "mlperf_log_detail.txt",
            "ranging/mlperf_log_summary.txt": ranging_dir / "mlperf_log_summary.txt",
            "run_1/mlperf_log_detail.txt": perf / "mlperf_log_detail.txt",
            "run_1/mlperf_log_summary.txt": perf / "mlperf_log_summary.txt",
        })
        ptdaemon.write_client_json(power_dir / "client.json", client.summary, results)
        client.done()
        targets = {"power/ptd_logs.txt": power_dir / "ptd_logs.txt", "power/server.json": power_dir / "server.json",
                   "power/server.log": power_dir / "server.log", "ranging/spl.txt": ranging_dir / "spl.txt",
                   "run_1/spl.txt": perf / "spl.txt", "run_1/ptd_out.txt": testing.root / "ptd_out.txt"}
        for name in ptdaemon.SERVER_FILES:
            client.download(name, targets[name])
        client.cleanup()
    finally:
        client.close()
    figures = read_run(perf)
    series = ptdaemon.parse_spl(perf / "spl.txt")
    energy = mean_in_window(series, figures.window)
    write_csv(testing.root / record.SAMPLES_CSV, series)
    details = {"server": f"{client.addr}:{client.port}", "session": client.summary.session,
               "time_offsets": client.summary.offsets, "ntp": client.summary.ntp,
               "ranging_result_dir": str(runs["ranging"].result.root),
               "files": {"power": str(power_dir), "ranging": str(ranging_dir), "spl": str(perf / "spl.txt")}}
    power = record.build(backend="ptdaemon", estimate=False, source=series.source, figures=figures, energy=energy,
                         samples_total=len(series.samples), interval_s=None, details=details,
                         workload=_workload_record(runs["testing"]))
    return power, testing.root


def collect(cfg: dict[str, Any]) -> dict[str, Any]:
    backend = str(cfg.get("backend") or "auto")
    if backend not in BACKENDS:
        raise PowerError(f"unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
    try:
        interval_s = float(cfg.get("interval_ms") or 100) / 1000.0
    except (TypeError, ValueError):
        raise PowerError(f"--interval_ms={cfg.get('interval_ms')!r} is not a number") from None
    workload = _workload(cfg)
    if backend == "auto":
        backend = choose_backend(Path(str(cfg.get("powercap_root") or rapl.DEFAULT_ROOT)))
        print(f"collect-power: using the {backend} backend", file=sys.stderr)
    if backend == "ptdaemon":
        power, root = with_ptdaemon(cfg, workload)
    else:
        power, root = sampled(cfg, backend, workload, interval_s)
    path = record.write(root, power)
    for line in record.summary_lines(power, path):
        print(line)
    return {"power_json": str(path), "result_dir": str(root), "samples_csv": str(root / record.SAMPLES_CSV),
            **{k: power[k] for k in ("backend", "estimate", "label", "avg_power_w", "energy_j", "joules_per_sample",
                                     "joules_per_token", "samples_per_second_per_watt", "tokens_per_second_per_watt")}}


def cfg_outcome(config: str) -> Path | None:
    """Where the recipe wants the outcome (also the error), if the config says so."""
    try:
        value = json.loads(Path(config).read_text(encoding="utf-8")).get("outcome")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(str(value)) if value else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m flexbench.power.main CONFIG.json", file=sys.stderr)
        return 2
    try:
        try:
            cfg = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PowerError(f"cannot read the config {args[0]}: {exc}") from None
        started = time.time()
        outcome = collect(cfg)
        outcome["elapsed_s"] = round(time.time() - started, 3)
        if cfg.get("outcome"):
            atomic_write_text(Path(str(cfg["outcome"])), json.dumps(outcome, indent=1) + "\n")
    except PowerError as exc:
        print(f"collect-power: error: {exc}", file=sys.stderr)
        if cfg_outcome(args[0]):
            atomic_write_text(cfg_outcome(args[0]), json.dumps({"error": str(exc)}) + "\n")  # type: ignore[arg-type]
        return 1
    except KeyboardInterrupt:
        print("collect-power: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
