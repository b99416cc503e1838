"""A model's graph from its Hugging Face ``config.json``: layers, widths, heads, experts, and
the parameter counts (total and active per token) they imply.

``load_config`` reads a local folder (or a ``config.json`` file) or, for a hub id, the
Hugging Face cache through ``huggingface_hub`` when it is installed (no download is forced:
``HF_HUB_OFFLINE`` is honoured). ``mlperf_models()`` is the table of the MLPerf benchmark models
shipped in ``flexboard/data/mlperf_models.json`` with the address of each config.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flexboard.errors import FlexBoardError

DATA = Path(__file__).resolve().parent / "data"

# bytes per weight for the dtype names found in the dataset and in configs
DTYPE_BYTES = {
    "fp32": 4.0, "float32": 4.0, "fp16": 2.0, "float16": 2.0, "bf16": 2.0, "bfloat16": 2.0,
    "fp8": 1.0, "float8": 1.0, "int8": 1.0, "fp4": 0.5, "nvfp4": 0.5, "int4": 0.5, "mxfp4": 0.5,
}


def dtype_bytes(name: str | None) -> float | None:
    if not name:
        return None
    n = str(name).strip().lower()
    if n in DTYPE_BYTES:
        return DTYPE_BYTES[n]
    for k, v in DTYPE_BYTES.items():  # "fp8 (e4m3)", "int4 awq", ...
        if n.startswith(k):
            return v
    return None


@dataclass(frozen=True)
class ModelGraph:
    key: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    experts: int  # routed experts per MoE layer (1 for a dense model)
    active_experts: int
    params_total: float  # parameters
    params_active: float  # parameters used per token
    kv_bytes_per_token_per_byte: float  # KV-cache elements per token (times the KV dtype's bytes)
    config_dtype_bytes: float | None
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(cfg: dict[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if cfg.get(n) is not None:
            return cfg[n]
    return default


def from_config(cfg: dict[str, Any], key: str = "", source: str = "") -> ModelGraph:
    """The graph of a decoder-only transformer config (llama, mistral, mixtral, qwen, gpt-j,
    gpt-neox, deepseek-v3 MLA+MoE, ...). Raises FlexBoardError when a needed field is absent."""
    layers = _get(cfg, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _get(cfg, "hidden_size", "n_embd", "d_model")
    heads = _get(cfg, "num_attention_heads", "n_head")
    vocab = _get(cfg, "vocab_size")
    missing = [n for n, v in (("num_hidden_layers", layers), ("hidden_size", hidden),
                              ("num_attention_heads", heads), ("vocab_size", vocab)) if v is None]
    if missing:
        raise FlexBoardError(f"model config {key or source}: no {', '.join(missing)} (not a decoder config?)")
    layers, hidden, heads, vocab = int(layers), int(hidden), int(heads), int(vocab)
    kv_heads = int(_get(cfg, "num_key_value_heads", default=heads) or heads)
    head_dim = int(_get(cfg, "head_dim", default=hidden // heads) or hidden // heads)
    gated = cfg.get("model_type") not in ("gptj", "gpt2", "gpt_neox", "opt", "bloom", "falcon")
    inter = int(_get(cfg, "intermediate_size", "n_inner", default=None) or 4 * hidden)
    experts = int(_get(cfg, "num_local_experts", "n_routed_experts", "num_experts", default=1) or 1)
    active = int(_get(cfg, "num_experts_per_tok", "moe_topk", default=1) or 1) if experts > 1 else 1
    shared = int(cfg.get("n_shared_experts") or 0)
    moe_inter = int(_get(cfg, "moe_intermediate_size", default=inter) or inter)
    dense_layers = int(cfg.get("first_k_dense_replace") or 0) if experts > 1 else layers

    if cfg.get("kv_lora_rank"):  # multi-head latent attention (DeepSeek-V2/V3)
        q_lora = int(cfg.get("q_lora_rank") or 0)
        rope, nope, v = int(cfg["qk_rope_head_dim"]), int(cfg["qk_nope_head_dim"]), int(cfg["v_head_dim"])
        kv_lora = int(cfg["kv_lora_rank"])
        q = (hidden * q_lora + q_lora * heads * (nope + rope)) if q_lora else hidden * heads * (nope + rope)
        attn = q + hidden * (kv_lora + rope) + kv_lora * heads * (nope + v) + heads * v * hidden
        kv_elems = layers * (kv_lora + rope)
    else:
        attn = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
        kv_elems = 2 * layers * kv_heads * head_dim
    mats = 3 if gated else 2
    dense_mlp = mats * hidden * inter
    expert_mlp = mats * hidden * moe_inter
    moe_layers = layers - dense_layers
    embed = vocab * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    total = layers * attn + dense_layers * dense_mlp + moe_layers * ((experts + shared) * expert_mlp + hidden * experts) + embed
    act = layers * attn + dense_layers * dense_mlp + moe_layers * ((active + shared) * expert_mlp + hidden * experts) + embed
    return ModelGraph(key=key, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads,
                      intermediate=moe_inter if experts > 1 else inter, vocab=vocab, experts=experts,
                      active_experts=active, params_total=float(total), params_active=float(act),
                      kv_bytes_per_token_per_byte=float(kv_elems),
                      config_dtype_bytes=dtype_bytes(cfg.get("torch_dtype") or cfg.get("dtype")), source=source)


def load_config(where: str) -> tuple[dict[str, Any], str]:
    """The config dict and where it came from: a folder with config.json, a config.json file,
    or a hub id already in the local Hugging Face cache."""
    p = Path(where).expanduser()
    if p.is_dir():
        p = p / "config.json"
    if p.is_file():
        try:
            return json.loads(p.read_text(encoding="utf-8")), str(p)
        except (OSError, ValueError) as exc:
            raise FlexBoardError(f"{p}: not a readable JSON config ({exc})") from exc
    if re.fullmatch(r"[\w.-]+/[\w.-]+", where):
        try:
            from huggingface_hub import hf_hub_download, try_to_load_from_cache  # only for hub ids
        except ImportError:
            raise FlexBoardError(f"--model={where}: not a local folder, and huggingface_hub is not installed "
                                 "to read a hub id; give a folder with config.json") from None
        # the local cache first: a model already there is read without asking the hub (which, out of
        # reach, is retried for ~20 s before the cache is used)
        path = try_to_load_from_cache(where, "config.json")
        if not isinstance(path, str):
            try:
                path = hf_hub_download(where, "config.json")
            except Exception as exc:  # noqa: BLE001 - the hub raises many kinds
                raise FlexBoardError(f"--model={where}: config.json not found locally or on the hub "
                                     f"({type(exc).__name__})") from exc
        return json.loads(Path(path).read_text(encoding="utf-8")), f"https://huggingface.co/{where}"
    names = ", ".join(m[0] for m in mlperf_models())
    raise FlexBoardError(f"--model={where}: not an MLPerf model of the table ({names}), no such folder or "
                         "config.json, and not a hub id (owner/name)")


@lru_cache(maxsize=1)
def mlperf_models() -> tuple[tuple[str, re.Pattern[str], ModelGraph, str], ...]:
    data = json.loads((DATA / "mlperf_models.json").read_text(encoding="utf-8"))
    out = []
    for m in data["models"]:
        out.append((m["key"], re.compile(m["match"]), from_config(m["config"], m["key"], m["source"]), m["hf_id"]))
    return tuple(out)


def graph_for(name: str | None, mlperf_name: str | None = None) -> ModelGraph | None:
    """The table's graph for a dataset model (its model.name first, then its MLPerf name)."""
    for n in (name, mlperf_name):
        if not n:
            continue
        low = str(n).lower()
        for _key, pat, graph, _hf in mlperf_models():
            if pat.search(low):
                return graph
    return None


def resolve_model(spec: str) -> ModelGraph:
    """A model given by the user: an MLPerf benchmark name of the table, or an HF config."""
    g = graph_for(spec)
    if g is not None and not Path(spec).expanduser().exists():
        return g
    cfg, src = load_config(spec)
    return from_config(cfg, key=spec, source=src)
