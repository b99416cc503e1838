from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flexboard import modelgraph
from flexboard.errors import FlexBoardError


@pytest.mark.parametrize("name,total_b,active_b", [
    ("llama2-70b-99", 69.0, 69.0),          # Meta: 70B (68.98B counted from config.json)
    ("gptj-99.9", 6.05, 6.05),              # EleutherAI: 6,053,381,344 parameters
    ("mixtral-8x7b", 46.7, 12.9),           # Mistral: 46.7B total, 12.9B active per token
    ("llama3_1-405b", 405.9, 405.9),        # Meta: 405B
    ("deepseek-v3", 671.0, 37.5),           # DeepSeek: 671B total, 37B active
])
def test_parameter_counts_of_the_mlperf_models_match_their_publishers(name, total_b, active_b):
    g = modelgraph.graph_for(name)
    assert g is not None
    assert g.params_total / 1e9 == pytest.approx(total_b, rel=0.01)
    assert g.params_active / 1e9 == pytest.approx(active_b, rel=0.02)
    assert g.source.startswith("https://huggingface.co/")


def test_a_local_config_folder_is_read(tmp_path):
    cfg = {"model_type": "llama", "num_hidden_layers": 30, "hidden_size": 576, "num_attention_heads": 9,
           "num_key_value_heads": 3, "intermediate_size": 1536, "vocab_size": 49152, "tie_word_embeddings": True,
           "torch_dtype": "bfloat16"}  # SmolLM2-135M's config.json
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    g = modelgraph.resolve_model(str(tmp_path))
    assert g.params_total / 1e6 == pytest.approx(134.5, rel=0.01)  # 134,515,008 published
    assert g.config_dtype_bytes == 2.0


def test_a_config_without_layers_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(FlexBoardError, match="num_hidden_layers"):
        modelgraph.resolve_model(str(tmp_path))


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FlexBoardError, match="no such folder"):
        modelgraph.resolve_model(str(tmp_path / "nope" / "x"))
    # a name nobody knows: the message lists the names that are known
    with pytest.raises(FlexBoardError, match=r"^--model=nope-9b: not an MLPerf model of the table \(llama2-70b, .*deepseek-v3\)"):
        modelgraph.resolve_model("nope-9b")


def _hub_read(tmp_path, model: str, offline: bool = True):
    """resolve_model(model) in a fresh process whose Hugging Face cache is tmp_path/hub, offline, or
    online with the hub at a listening loopback socket of this test that never answers: afterwards,
    a connection waiting in its backlog means the hub was asked."""
    import socket

    code = ("from flexboard import modelgraph\n"
            "from flexboard.errors import FlexBoardError\n"
            "try:\n"
            f"    g = modelgraph.resolve_model({model!r})\n"
            "    print(g.params_total, g.source)\n"
            "except FlexBoardError as exc:\n"
            "    print('error:', exc)\n")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    with socket.socket() as hub:
        hub.bind(("127.0.0.1", 0))
        hub.listen(16)
        if offline:
            env["HF_HUB_OFFLINE"] = "1"
        else:
            env.update(HF_ENDPOINT=f"http://127.0.0.1:{hub.getsockname()[1]}", HF_HUB_ETAG_TIMEOUT="1",
                       HF_HUB_DOWNLOAD_TIMEOUT="1", HF_HUB_DISABLE_TELEMETRY="1")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        hub.setblocking(False)
        try:
            conn, _ = hub.accept()
            conn.close()
            asked = True
        except BlockingIOError:
            asked = False
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not asked, "the hub was asked for a model the local cache has"
    return r.stdout.strip()


def test_a_hub_id_is_read_from_the_local_hugging_face_cache(tmp_path):
    cfg = {"model_type": "llama", "num_hidden_layers": 30, "hidden_size": 576, "num_attention_heads": 9,
           "num_key_value_heads": 3, "intermediate_size": 1536, "vocab_size": 49152, "tie_word_embeddings": True}
    repo = tmp_path / "hub" / "models--acme--tiny-llm"  # the cache's layout: refs/main names the snapshot
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd" / "config.json").write_text(json.dumps(cfg))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    total, source = _hub_read(tmp_path, "acme/tiny-llm").split()
    assert float(total) / 1e6 == pytest.approx(134.5, rel=0.01) and source == "https://huggingface.co/acme/tiny-llm"
    # online: a model in the cache is read from there, without asking the hub
    assert _hub_read(tmp_path, "acme/tiny-llm", offline=False).split()[1] == "https://huggingface.co/acme/tiny-llm"
    # offline and not in the cache: one line naming the model
    assert _hub_read(tmp_path, "acme/not-cached").startswith("error: --model=acme/not-cached: config.json not found")
