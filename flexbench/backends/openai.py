"""OpenAI-compatible HTTP backend (vLLM, TGI, SGLang, `transformers serve` ...).

Streams ``/v1/completions`` (or ``/v1/chat/completions``) with server-sent
events so TTFT is the arrival of the first text chunk. Sends only standard
request fields unless told the server is vLLM. Token ids for LoadGen come from
the model's own tokenizer (loaded locally), applied to the streamed text.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

from flexbench.backends.base import BackendError, DoneCallback, FirstCallback

# After [DONE], how long to wait for the end of the body (the connection is then reused), and how many
# more lines to read at most. Servers end the body right after [DONE]; this only bounds the wait for
# one that does not (one such wait turns draining off for the backend).
DRAIN_S = 0.5
DRAIN_MAX_LINES = 64


class OpenAIBackend:
    name = "openai"

    def __init__(self, config: dict[str, Any]) -> None:
        self.base_url = str(config.get("api_base") or "http://127.0.0.1:8000").rstrip("/")
        self.model_name = str(config.get("api_model") or config.get("model_name") or "default")
        self.tokenizer_path = config.get("tokenizer_path") or config.get("model_path")
        self.max_batch = int(config.get("batch_size", 8))
        self.concurrency = int(config.get("concurrency") or 0)
        self.model_seed = int(config["model_seed"]) if config.get("model_seed") is not None else None
        self.max_new_tokens = int(config.get("max_output_tokens", 64))
        self.chat = bool(config.get("api_chat", True))
        self.server_kind = str(config.get("server_kind", "generic"))
        self.timeout = float(config.get("api_timeout_s", 600))
        self.api_key = config.get("api_key_env")
        self.tokenizer: Any = None
        self.session: Any = None
        self.headers: dict[str, str] = {}
        self.drain = True  # read to the end of the body after [DONE] (see _drain)

    def load(self) -> dict[str, float]:
        t0 = time.perf_counter()
        import requests
        from requests.adapters import HTTPAdapter

        self.session = requests.Session()
        # one pooled connection per request in flight (requests keeps 10 by default and reconnects beyond)
        pool = max(self.max_batch, self.concurrency, 10)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # the environment's proxies and CA bundle, read once: with trust_env requests re-reads the whole
        # environment for every request (the client's main CPU cost per request against a fast server)
        env = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.proxies.update(env.get("proxies") or {})
        self.session.verify = env.get("verify", True)
        self.session.trust_env = False
        self.headers = {"Accept": "text/event-stream"}
        if self.api_key and os.environ.get(str(self.api_key)):
            self.headers["Authorization"] = f"Bearer {os.environ[str(self.api_key)]}"
        if self.tokenizer_path:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(self.tokenizer_path))
        try:  # any HTTP answer means a server is there (some fail /v1/models, e.g. `transformers serve` offline)
            self.session.get(f"{self.base_url}/health", timeout=10)
        except Exception as exc:
            raise BackendError(f"OpenAI-compatible server not reachable at {self.base_url}: {type(exc).__name__}") from exc
        return {"model_load_s": time.perf_counter() - t0}

    def prompt_for(self, question: str, system_prompt: str) -> str:
        return json.dumps({"system": system_prompt, "user": question}) if self.chat else \
            ((system_prompt + "\n\n" if system_prompt else "") + question)

    def _tokens(self, text: str) -> list[int]:
        if self.tokenizer is None:
            return [1] * max(1, len(text.split()))
        return list(self.tokenizer.encode(text, add_special_tokens=False)) or [self.tokenizer.eos_token_id or 0]

    def _request(self, prompt: str) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model_name, "max_tokens": self.max_new_tokens, "temperature": 0.0,
                                "stream": True}
        if self.chat:
            p = json.loads(prompt)
            msgs = ([{"role": "system", "content": p["system"]}] if p["system"] else [])
            msgs.append({"role": "user", "content": p["user"]})
            body["messages"] = msgs
            url = f"{self.base_url}/v1/chat/completions"
        else:
            body["prompt"] = prompt
            url = f"{self.base_url}/v1/completions"
        if self.model_seed is not None:
            body["seed"] = self.model_seed  # a standard OpenAI field (MLPerf Endpoints' model seed)
        if self.server_kind == "vllm":
            body["min_tokens"] = 1  # vLLM-only field; other servers reject it
        return url, body

    def _one(self, row: int, prompt: str, on_first: FirstCallback, on_done: DoneCallback) -> None:
        url, body = self._request(prompt)
        try:
            r = self.session.post(url, json=body, stream=True, timeout=self.timeout, headers=self.headers)
        except Exception as exc:
            raise BackendError(f"request to {url} failed: {type(exc).__name__}: {exc}") from exc
        try:
            text, first_sent, rest = self._read(r, url, row, on_first)
            tokens = self._tokens(text)
            if not first_sent:
                on_first(row, tokens[:1])
            on_done(row, tokens)
            if rest is not None:  # after on_done: the answer's clocks never include the drain
                self._drain(r, rest)
        finally:
            r.close()  # back to the pool when the body was read to its end, else closed

    def _read(self, r: Any, url: str, row: int, on_first: FirstCallback) -> tuple[str, bool, Iterator[str] | None]:
        """The streamed text up to ``[DONE]`` or the end of the body, whether ``on_first`` was called, and
        the unread rest of the lines when ``[DONE]`` came before the end of the body."""
        if r.status_code != 200:
            raise BackendError(f"{url} answered HTTP {r.status_code}: {r.text[:300]}")
        text = ""
        first_sent = False
        lines = r.iter_lines(decode_unicode=True)
        try:
            for raw in lines:
                if not raw or not raw.startswith("data:"):
                    continue
                data = raw[5:].strip()
                if data == "[DONE]":
                    return text, first_sent, lines
                chunk = json.loads(data)
                choice = (chunk.get("choices") or [{}])[0]
                piece = (choice.get("delta") or {}).get("content") if self.chat else choice.get("text")
                if piece:
                    text += piece
                    if not first_sent:
                        first_sent = True
                        on_first(row, self._tokens(text)[:1])
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"request to {url} failed: {type(exc).__name__}: {exc}") from exc
        return text, first_sent, None

    def _drain(self, r: Any, rest: Iterator[str]) -> None:
        """Read what follows ``[DONE]`` to the end of the body, waiting at most ``DRAIN_S`` for it, so that
        the connection goes back to the pool and the next request reuses it (a new TCP connection per
        request costs the client CPU and adds to the TTFT it measures). A server that keeps the body
        open after ``[DONE]``, or sends more than ``DRAIN_MAX_LINES`` lines, gets its connection closed,
        and draining is turned off for this backend: later requests close at ``[DONE]`` at once."""
        if not self.drain:
            return
        sock = getattr(getattr(r.raw, "connection", None), "sock", None)
        try:
            if sock is not None:  # None: urllib3 already released it (the body had ended)
                sock.settimeout(DRAIN_S)  # reset by urllib3 when the connection is reused
            for n, _ in enumerate(rest):
                if n >= DRAIN_MAX_LINES:
                    raise BackendError("more than DRAIN_MAX_LINES lines after [DONE]")
        except Exception:
            self.drain = False  # r.close() closes the connection; never an error of the answer

    def generate(self, prompts: Sequence[str], on_first: FirstCallback, on_done: DoneCallback) -> None:
        if len(prompts) == 1:
            self._one(0, prompts[0], on_first, on_done)
            return
        with ThreadPoolExecutor(max_workers=min(len(prompts), self.max_batch)) as pool:
            futures = [pool.submit(self._one, row, p, on_first, on_done) for row, p in enumerate(prompts)]
            for f in futures:
                f.result()

    def decode(self, token_ids: Sequence[int]) -> str:
        if self.tokenizer is None:
            return ""
        return str(self.tokenizer.decode(list(token_ids), skip_special_tokens=True))

    def describe(self) -> dict[str, object]:
        return {"backend": "openai", "api_base": self.base_url, "api_model": self.model_name,
                "server_kind": self.server_kind, "chat": self.chat, "batch_size": self.max_batch}
