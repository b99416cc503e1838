"""In-process transformers backend, with batching and per-token timestamps.

A streamer sees every generation step, so the first output token of each row is
reported the moment it exists (real TTFT), and each row is reported done as
soon as it emits EOS, not when the whole batch ends.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

from flexbench.backends.base import BackendError, DoneCallback, FirstCallback


class _RowStreamer:
    """A transformers streamer that fans a batched step out to per-row callbacks."""

    def __init__(self, rows: int, eos_ids: set[int], on_first: FirstCallback, on_done: DoneCallback) -> None:
        self.rows = rows
        self.eos = eos_ids
        self.on_first = on_first
        self.on_done = on_done
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.finished = [False] * rows
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # the first call carries the prompt ids
            self.prompt_seen = True
            return
        step = value.reshape(self.rows, -1)[:, -1].tolist()
        for row, tok in enumerate(step):
            if self.finished[row]:
                continue
            if tok in self.eos:
                self.finished[row] = True
                if not self.tokens[row]:  # an empty answer still needs a first token for LoadGen
                    self.tokens[row].append(tok)
                    self.on_first(row, self.tokens[row])
                self.on_done(row, self.tokens[row])
                continue
            self.tokens[row].append(tok)
            if len(self.tokens[row]) == 1:
                self.on_first(row, self.tokens[row])

    def end(self) -> None:
        for row in range(self.rows):
            if not self.finished[row]:
                self.finished[row] = True
                self.on_done(row, self.tokens[row])


class HFBackend:
    name = "hf"

    def __init__(self, config: dict[str, Any]) -> None:
        self.model_path = str(config["model_path"])
        self.max_batch = int(config.get("batch_size", 1))
        self.max_new_tokens = int(config.get("max_output_tokens", 64))
        self.max_input_tokens = int(config.get("max_input_tokens", 1024))
        self.dtype = str(config.get("dtype", "float32"))
        self.threads = int(config.get("threads", 0) or 0)
        self.use_chat_template = bool(config.get("chat_template", True))
        self.lock = threading.Lock()
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> dict[str, float]:
        t0 = time.perf_counter()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)
        t1 = time.perf_counter()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=getattr(torch, self.dtype))
        self.model.eval()
        self.torch = torch
        t2 = time.perf_counter()
        return {"import_s": t1 - t0, "model_load_s": t2 - t1}

    def prompt_for(self, question: str, system_prompt: str) -> str:
        if self.use_chat_template and getattr(self.tokenizer, "chat_template", None):
            msgs = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
            msgs.append({"role": "user", "content": question})
            return str(self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False))
        return (system_prompt + "\n\n" if system_prompt else "") + question

    def _eos_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        return set(ids if isinstance(ids, list) else [ids])

    def generate(self, prompts: Sequence[str], on_first: FirstCallback, on_done: DoneCallback) -> None:
        try:
            enc = self.tokenizer(list(prompts), return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.max_input_tokens, add_special_tokens=False)
            streamer = _RowStreamer(len(prompts), self._eos_ids(), on_first, on_done)
            with self.lock, self.torch.inference_mode():
                self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False, streamer=streamer,
                                    pad_token_id=self.tokenizer.pad_token_id)
        except Exception as exc:  # any model failure ends the run with a recorded error
            raise BackendError(f"transformers generate failed: {type(exc).__name__}: {exc}") from exc

    def decode(self, token_ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(token_ids), skip_special_tokens=True))

    def describe(self) -> dict[str, object]:
        import torch
        import transformers

        params = sum(p.numel() for p in self.model.parameters()) if self.model is not None else None
        return {"backend": "hf", "model_path": self.model_path, "dtype": self.dtype, "batch_size": self.max_batch,
                "parameters": params, "torch": torch.__version__, "transformers": transformers.__version__,
                "torch_threads": torch.get_num_threads()}
