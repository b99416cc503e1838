"""run-flexbench: write the run's config (with provenance), then read its result back."""

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit
from cmx.sources import flexbench_src


def _int(env, key):
    try:
        return int(str(env[key]))
    except (KeyError, ValueError):
        raise ValueError(f"{key}={env.get(key)!r} is not a whole number") from None


def _reachable(api_base):
    """None, or why the OpenAI-compatible server cannot be reached (checked before LoadGen starts)."""
    url = urlsplit(api_base if "://" in api_base else f"http://{api_base}")
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError as exc:
        return f"--api_base={api_base} is not a URL ({exc})"
    if not url.hostname:
        return f"--api_base={api_base} is not a URL (no host)"
    try:
        socket.create_connection((url.hostname, port), timeout=5).close()
    except OSError as exc:
        return f"OpenAI-compatible server not reachable at {api_base} ({exc.strerror or exc})"
    return None


def preprocess(i):
    env = i["env"]
    if env.get("CMX_FLEXBENCH_PREPARE") == "yes":  # _prepare: the dependencies are ready, nothing to run
        return {"return": 0, "skip": True}
    src = flexbench_src()
    if not (src / "flexbench" / "main.py").is_file():
        return {"return": 1, "error": f"flexbench package not found next to the recipes (looked in {src})"}
    if env.get("CMX_FLEXBENCH_BACKEND") == "openai":
        why = _reachable(str(env.get("CMX_FLEXBENCH_API_BASE") or ""))
        if why:
            return {"return": 1, "error": f"benchmark failed: {why}"}
    run_dir = Path(i["run_path"])
    out = Path(env.get("CMX_FLEXBENCH_OUT_DIR") or run_dir / "flexbench")
    try:
        samples = _int(env, "CMX_FLEXBENCH_SAMPLES")
        min_queries = _int(env, "CMX_FLEXBENCH_MIN_QUERY_COUNT") or samples
        cfg = {
            "backend": env["CMX_FLEXBENCH_BACKEND"],
            "scenario": env["CMX_FLEXBENCH_SCENARIO"],
            "modes": env["CMX_FLEXBENCH_MODES"],
            "model_path": env.get("CMX_ML_MODEL_PATH"),
            "tokenizer_path": env.get("CMX_ML_MODEL_TOKENIZER_PATH") or env.get("CMX_ML_MODEL_PATH"),
            "model_id": env.get("CMX_ML_MODEL_ID"),
            "dataset_path": env["CMX_DATASET_PATH"],
            "dataset_name": env.get("CMX_DATASET_NAME"),
            "dataset_size": samples,
            "seed": _int(env, "CMX_FLEXBENCH_SEED"),
            "batch_size": _int(env, "CMX_FLEXBENCH_BATCH_SIZE"),
            "concurrency": _int(env, "CMX_FLEXBENCH_CONCURRENCY"),
            "threads": _int(env, "CMX_FLEXBENCH_THREADS"),
            "max_input_tokens": _int(env, "CMX_FLEXBENCH_MAX_INPUT_TOKENS"),
            "max_output_tokens": _int(env, "CMX_FLEXBENCH_MAX_OUTPUT_TOKENS"),
            "conf_model": env["CMX_FLEXBENCH_CONF_MODEL"],
            "min_duration_ms": _int(env, "CMX_FLEXBENCH_MIN_DURATION_MS"),
            "min_query_count": min_queries,
            "performance_sample_count": _int(env, "CMX_FLEXBENCH_PERFORMANCE_SAMPLE_COUNT") or samples,
            "expected_samples": min_queries,
            "target_qps": float(env["CMX_FLEXBENCH_TARGET_QPS"]),
            "ttft_latency_ms": _int(env, "CMX_FLEXBENCH_TTFT_LATENCY_MS"),
            "tpot_latency_ms": _int(env, "CMX_FLEXBENCH_TPOT_LATENCY_MS"),
            "target_latency_ms": _int(env, "CMX_FLEXBENCH_TARGET_LATENCY_MS"),
            "api_base": env.get("CMX_FLEXBENCH_API_BASE"),
            "api_model": env.get("CMX_FLEXBENCH_API_MODEL") or env.get("CMX_ML_MODEL_ID"),
            "server_kind": env.get("CMX_FLEXBENCH_SERVER_KIND"),
            "user_conf_template": env.get("CMX_FLEXBENCH_USER_CONF_TEMPLATE"),
            "out_dir": str(out),
        }
    except ValueError as exc:
        return {"return": 1, "error": str(exc)}
    if cfg["concurrency"] < 0:
        return {"return": 1, "error": f"--concurrency={cfg['concurrency']}: expected a whole number >= 0"}
    if cfg["concurrency"] and cfg["scenario"] != "offline":
        return {"return": 1, "error": "--concurrency runs as a closed loop under LoadGen Offline; "
                                      f"drop _{cfg['scenario']} (it is not a {cfg['scenario']} load)"}
    cfg["load_mode"] = "concurrency" if cfg["concurrency"] else "scenario"
    seed_set = (env.get("CMX_FLEXBENCH_ENDPOINTS_SEED_SET") or "").strip()
    if seed_set:
        from flexbench.endpoints.rules import SEED_SETS

        if seed_set not in SEED_SETS:
            return {"return": 1, "error": f"--endpoints_seed_set={seed_set}: the published sets are {', '.join(SEED_SETS)}"}
        cfg["endpoints_seed_set"] = seed_set
        cfg["model_seed"] = SEED_SETS[seed_set]["model_seed"]
    if cfg["backend"] == "hf" and not cfg["model_path"]:
        return {"return": 1, "error": "the hf backend needs a model (CMX_ML_MODEL_PATH is not set)"}
    lock = run_dir / "cmx-lock.json"
    sysdesc = env.get("CMX_SYSTEM_DESCRIPTION_FILE")
    cfg["provenance"] = {
        "cmx_lock": json.loads(lock.read_text()) if lock.is_file() else None,
        "system_description": json.loads(Path(sysdesc).read_text()) if sysdesc and Path(sysdesc).is_file() else None,
        "model": {k[len("CMX_ML_MODEL_"):].lower(): v for k, v in env.items() if k.startswith("CMX_ML_MODEL_")},
        "dataset": {k[len("CMX_DATASET_"):].lower(): v for k, v in env.items() if k.startswith("CMX_DATASET_")},
        "loadgen_version": env.get("CMX_LOADGEN_VERSION"),
        "mlperf_round": env.get("CMX_MLPERF_ROUND"),
        "python": env.get("CMX_VENV_PYTHON_VERSION"),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").unlink(missing_ok=True)  # an earlier run's, in a reused --out_dir
    cfg_path = out / "flexbench-config.json"
    cfg_path.write_text(json.dumps(cfg, indent=1))
    env["CMX_FLEXBENCH_CONFIG"] = str(cfg_path)
    env["CMX_FLEXBENCH_OUT_DIR"] = str(out)
    env["CMX_FLEXBENCH_SRC"] = str(src)
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    if env.get("CMX_FLEXBENCH_PREPARE") == "yes":
        return {"return": 0}
    result_path = Path(env["CMX_FLEXBENCH_OUT_DIR"]) / "result.json"
    if not result_path.is_file():
        return {"return": 1, "error": f"no result.json in {result_path.parent}"}
    result = json.loads(result_path.read_text())
    h = result.get("summary") or {}
    env["CMX_FLEXBENCH_RESULT"] = str(result_path)
    env["CMX_FLEXBENCH_STATUS"] = result.get("status", "unknown")
    env["CMX_FLEXBENCH_VALID"] = {True: "yes", False: "no"}.get(h.get("valid"), "")
    for key, value in (("SAMPLES_PER_SECOND", h.get("samples_per_second")), ("TOKENS_PER_SECOND", h.get("tokens_per_second"))):
        if value is not None:
            env[f"CMX_FLEXBENCH_{key}"] = str(value)
    for name, value in (h.get("rouge") or {}).items():
        env[f"CMX_FLEXBENCH_{name.upper()}"] = str(value)
    for kind in ("ttft", "tpot"):
        for p in ("p50", "p90", "p99"):
            v = (h.get(f"{kind}_ms") or {}).get(p)
            if v is not None:
                env[f"CMX_FLEXBENCH_{kind.upper()}_{p.upper()}_MS"] = str(round(v, 3))
    if result.get("status") != "ok":
        return {"return": 1, "error": f"benchmark failed: {result.get('failure')} (see {result_path})"}
    return {"return": 0}
