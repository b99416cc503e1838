"""collect-power: check the inputs and write the collector's config; read its outcome back."""

import json
import os
import sys
from pathlib import Path
from cmx.sources import flexbench_src


def _json_list(env, key, flag):
    text = env.get(key) or ""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--{flag} is not JSON ({exc.msg}); give a list such as '[\"--samples=8\"]'") from None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"--{flag} must be a JSON list of strings, got {text!r}")
    return value


def _no_secrets(args, flag):
    """A secret given as a workload argument would be recorded (config, power.json, lockfiles)."""
    from cmx.envutil import is_secret

    for a in args:
        name = a[2:].split("=", 1)[0] if a.startswith("--") else ""
        name = name[len("env."):] if name.startswith("env.") else name
        if name and is_secret(name):
            raise ValueError(f"--{flag}: {a.split('=', 1)[0]} is a secret and would be recorded with the run; "
                             f"set {name} in the environment (or --env.{name} on collect,power) instead: "
                             "the workload inherits it")


def _port(env, key, flag):
    port = _number(env, key, flag, int)
    if port is not None and port > 65535:
        raise ValueError(f"--{flag}={port} is not a TCP/UDP port (1-65535)")
    return port


def _ntp_server(env):
    text = (env.get("CMX_COLLECT_POWER_NTP_SERVER") or "").strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host or (sep and not (port.isdigit() and 0 < int(port) <= 65535)):
        raise ValueError(f"--ntp_server={text!r}: expected HOST or HOST:PORT")
    return text


def _write_atomic(path, text):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _number(env, key, flag, kind=float):
    text = env.get(key)
    if text in (None, ""):
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"--{flag}={text!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"--{flag}={text!r} must be positive")
    return value


def preprocess(i):
    env = i["env"]
    src = flexbench_src()
    if not (src / "flexbench" / "power" / "main.py").is_file():
        return {"return": 1, "error": f"flexbench/power not found next to the recipes (looked in {src})"}
    run_dir = Path(i["run_path"])
    try:
        tags = (env.get("CMX_COLLECT_POWER_WORKLOAD_TAGS") or "").strip()
        command = _json_list(env, "CMX_COLLECT_POWER_COMMAND", "command")
        args = _json_list(env, "CMX_COLLECT_POWER_WORKLOAD_ARGS", "workload_args") or []
        if bool(tags) == bool(command):
            raise ValueError("give exactly one of --workload_tags=TAGS (a cmx recipe) or --command='[JSON argv]'")
        _no_secrets(args, "workload_args")
        _no_secrets(command or [], "command")
        if command and args:
            raise ValueError("--workload_args go with --workload_tags; put a command's arguments in --command")
        if command and not env.get("CMX_COLLECT_POWER_LOADGEN_LOGS"):
            raise ValueError("--command needs --loadgen_logs=DIR (where it writes mlperf_log_detail.txt)")
        backend = env.get("CMX_COLLECT_POWER_BACKEND") or "auto"
        cfg = {
            "backend": backend,
            "interval_ms": _number(env, "CMX_COLLECT_POWER_INTERVAL_MS", "interval_ms"),
            "powercap_root": env.get("CMX_COLLECT_POWER_POWERCAP_ROOT") or "/sys/class/powercap",
            "tdp_w": _number(env, "CMX_COLLECT_POWER_TDP_W", "tdp_w"),
            "workload_tags": tags or None,
            "workload_args": args,
            "command": command,
            "loadgen_logs": env.get("CMX_COLLECT_POWER_LOADGEN_LOGS") or None,
            "cmx_python": env.get("CMX_PYTHON") or sys.executable,
            # the workload recipe runs in the same home, also when CMX_HOME was given relative to here
            "cmx_home": str(Path(os.environ["CMX_HOME"]).resolve()) if os.environ.get("CMX_HOME") else None,
            "ptd": {
                "addr": env.get("CMX_COLLECT_POWER_PTD_ADDR") or None,
                "port": _port(env, "CMX_COLLECT_POWER_PTD_PORT", "ptd_port"),
                "label": env.get("CMX_COLLECT_POWER_PTD_LABEL") or "",
                "max_offset_ms": _number(env, "CMX_COLLECT_POWER_PTD_MAX_OFFSET_MS", "ptd_max_offset_ms"),
                "timeout_s": _number(env, "CMX_COLLECT_POWER_PTD_TIMEOUT_S", "ptd_timeout_s"),
                "ntp_server": _ntp_server(env),
            },
            "work_dir": str(run_dir),
            "outcome": str(run_dir / "power-outcome.json"),
        }
        if backend == "estimate" and cfg["tdp_w"] is None:
            raise ValueError("_estimate needs --tdp_w=W (the CPU's TDP in watts); the figure is labelled an ESTIMATE")
        if backend == "ptdaemon" and not cfg["ptd"]["addr"]:
            raise ValueError("_ptdaemon needs --ptd_addr=HOST (the MLPerf power server on the director machine)")
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = run_dir / "power-config.json"
    _write_atomic(cfg_path, json.dumps(cfg, indent=1))
    Path(cfg["outcome"]).unlink(missing_ok=True)
    env["CMX_COLLECT_POWER_CONFIG"] = str(cfg_path)
    env["CMX_COLLECT_POWER_OUTCOME"] = cfg["outcome"]
    env["CMX_COLLECT_POWER_SRC"] = str(src)
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    path = Path(env["CMX_COLLECT_POWER_OUTCOME"])
    if not path.is_file():
        return {"return": 1, "error": f"the collector wrote no outcome ({path})"}
    out = json.loads(path.read_text())
    if out.get("error"):
        return {"return": 1, "error": out["error"]}
    estimate = bool(out.get("estimate"))
    env["CMX_POWER_BACKEND"] = out["backend"]
    env["CMX_POWER_ESTIMATE"] = "yes" if estimate else "no"
    env["CMX_POWER_LABEL"] = out["label"]
    env["CMX_POWER_JSON"] = out["power_json"]
    env["CMX_POWER_RESULT_DIR"] = out["result_dir"]
    env["CMX_POWER_SAMPLES_CSV"] = out["samples_csv"]
    for key, name in (("avg_power_w", "AVG_W"), ("energy_j", "ENERGY_J"), ("joules_per_sample", "ENERGY_PER_SAMPLE_J"),
                      ("joules_per_token", "ENERGY_PER_TOKEN_J"), ("samples_per_second_per_watt", "SAMPLES_PER_S_PER_W"),
                      ("tokens_per_second_per_watt", "TOKENS_PER_S_PER_W")):
        if out.get(key) is not None:
            env[f"CMX_POWER_{name}"] = f"{out[key]:.6g}"
    tag = "ESTIMATE" if estimate else "measured"
    print(f"collect-power: {out['backend']} ({tag}): {out['avg_power_w']:.3f} W, {out['energy_j']:.4f} J "
          f"in LoadGen's window -> {out['power_json']}")
    return {"return": 0}
