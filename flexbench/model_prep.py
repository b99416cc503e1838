"""Prepare a model folder that transformers loads quickly, and describe it.

``python -m flexbench.model_prep SOURCE --out DIR`` with SOURCE one of:

* ``dist:NAME`` - the GGUF file shipped inside an installed distribution (found
  through ``importlib.metadata``, without importing the package);
* ``gguf:PATH`` - a GGUF file;
* ``hub:ORG/NAME[@REVISION]`` - a HuggingFace hub id, through ``huggingface_hub``
  (snapshot into DIR's hub cache; offline mode is honoured);
* ``local:PATH`` - a local HF model folder (used in place).

GGUF weights are dequantised by transformers + gguf and re-saved as a plain HF
folder (safetensors), so later loads take a fraction of a second instead of the
conversion's tens of seconds. Writes ``DIR/model_info.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def gguf_in_distribution(name: str) -> Path:
    import importlib.metadata as md

    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError as exc:
        raise SystemExit(f"model_prep: distribution '{name}' is not installed in {sys.prefix}") from exc
    files = [f for f in (dist.files or []) if str(f).endswith(".gguf")]
    if not files:
        raise SystemExit(f"model_prep: distribution '{name}' ships no .gguf file")
    return Path(str(files[0].locate())).resolve()


def convert_gguf(gguf: Path, out: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    t1 = time.perf_counter()
    # save_pretrained refuses a model loaded from GGUF: rebuild from its config, then save
    fresh = AutoModelForCausalLM.from_config(model.config)
    fresh.load_state_dict(model.state_dict())
    fresh.generation_config = model.generation_config
    out.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return {"gguf_file": str(gguf), "gguf_load_s": round(t1 - t0, 3), "convert_save_s": round(time.perf_counter() - t1, 3)}


def hub_snapshot(spec: str, out: Path) -> tuple[Path, dict[str, Any]]:
    from huggingface_hub import snapshot_download

    repo_id, _, revision = spec.partition("@")
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "no")
    cache_dir = os.environ.get("CMX_HF_CACHE_DIR") or str(out / "hub-cache")
    path = snapshot_download(repo_id, revision=revision or None, cache_dir=cache_dir, local_files_only=offline,
                             allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "tokenizer*", "*.tiktoken"])
    resolved = Path(path).name  # snapshots/<commit>
    return Path(path), {"hub_id": repo_id, "requested_revision": revision or "main", "revision": resolved,
                        "offline": offline}


def describe(path: Path) -> dict[str, Any]:
    """Parameter count and dtype from the folder's config and weights, without loading the model."""
    info: dict[str, Any] = {"path": str(path)}
    cfg_file = path / "config.json"
    if cfg_file.is_file():
        cfg = json.loads(cfg_file.read_text())
        info["architecture"] = (cfg.get("architectures") or [None])[0]
        info["dtype"] = cfg.get("torch_dtype") or cfg.get("dtype")
        info["model_type"] = cfg.get("model_type")
    total = 0
    for st in path.glob("*.safetensors"):
        from safetensors import safe_open

        with safe_open(str(st), framework="pt") as fh:
            for name in fh.keys():
                shape = fh.get_slice(name).get_shape()
                n = 1
                for d in shape:
                    n *= d
                total += n
    info["parameters"] = total or None
    info["tokenizer_path"] = str(path) if any(path.glob("tokenizer*")) else None
    return info


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flexbench.model_prep")
    ap.add_argument("source")
    ap.add_argument("--out", required=True)
    ap.add_argument("--env-out", help="append the CMX_ML_MODEL_* keys a recipe exports (KEY=VALUE lines)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kind, _, value = args.source.partition(":")
    extra: dict[str, Any] = {"source": args.source}
    if kind == "dist":
        model_dir = out / "model"
        extra.update(convert_gguf(gguf_in_distribution(value), model_dir))
        extra["distribution"] = value
    elif kind == "gguf":
        model_dir = out / "model"
        extra.update(convert_gguf(Path(value).resolve(), model_dir))
    elif kind == "hub":
        model_dir, hub = hub_snapshot(value, out)
        extra.update(hub)
    elif kind == "local":
        model_dir = Path(value).resolve()
        if not (model_dir / "config.json").is_file():
            raise SystemExit(f"model_prep: {model_dir} is not a HuggingFace model folder (no config.json)")
    else:
        raise SystemExit(f"model_prep: unknown source '{args.source}' (dist:, gguf:, hub:, local:)")
    info = {**describe(model_dir), **extra}
    (out / "model_info.json").write_text(json.dumps(info, indent=1))
    if args.env_out:
        with open(args.env_out, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{k}={v}\n" for k, v in recipe_env(info, out).items()))
    print(json.dumps(info))
    return 0


def recipe_env(info: dict[str, Any], out: Path) -> dict[str, str]:
    """What the get-ml-model-* recipes export."""
    return {
        "CMX_ML_MODEL_PATH": info["path"],
        "CMX_ML_MODEL_TOKENIZER_PATH": info.get("tokenizer_path") or info["path"],
        "CMX_ML_MODEL_PARAMETERS": str(info.get("parameters") or ""),
        "CMX_ML_MODEL_DTYPE": str(info.get("dtype") or "float32"),
        "CMX_ML_MODEL_CONVERT_S": str(round(info.get("gguf_load_s", 0) + info.get("convert_save_s", 0), 2)),
        "CMX_ML_MODEL_GGUF": str(info.get("gguf_file", "")),
        "CMX_ML_MODEL_REVISION": str(info.get("revision", "")),
        "CMX_ML_MODEL_INFO": str(out / "model_info.json"),
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
