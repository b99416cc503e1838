"""The `_openai` backend against a real streaming server on 127.0.0.1 (tests/scripts/sse_server.py)."""

from __future__ import annotations

from typing import Sequence

from flexbench.backends.openai import OpenAIBackend
from tests.scripts.sse_server import SSEServer


def _run(backend: OpenAIBackend, n: int) -> list[list[int]]:
    done: list[list[int]] = []

    def on_first(row: int, tokens: Sequence[int]) -> None:
        pass

    def on_done(row: int, tokens: Sequence[int]) -> None:
        done.append(list(tokens))

    for _ in range(n):
        backend.generate([backend.prompt_for("hello", "")], on_first, on_done)
    return done


def test_chat_answers_are_read_whole() -> None:
    with SSEServer(tokens=4, ttft_s=0.0, delay_s=0.0) as server:
        backend = OpenAIBackend({"api_base": server.url, "api_model": "m", "max_output_tokens": 4})
        backend.load()
        done = _run(backend, 5)
        assert server.served == 5
    assert [len(t) for t in done] == [4] * 5  # four words each (no tokenizer: one token a word)


def test_completions_endpoint_streams_the_text() -> None:
    with SSEServer(tokens=3, ttft_s=0.0, delay_s=0.0) as server:
        backend = OpenAIBackend({"api_base": server.url, "api_model": "m", "max_output_tokens": 3, "api_chat": False})
        backend.load()
        assert [len(t) for t in _run(backend, 2)] == [3, 3]


def test_proxy_environment_is_read_once_at_load(monkeypatch) -> None:
    # the environment is read at load (not per request); NO_PROXY keeps loopback direct
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with SSEServer(tokens=2, ttft_s=0.0, delay_s=0.0) as server:
        backend = OpenAIBackend({"api_base": server.url, "api_model": "m", "max_output_tokens": 2})
        backend.load()
        assert backend.session.trust_env is False
        monkeypatch.setenv("NO_PROXY", "")  # a later change of the environment no longer applies
        assert [len(t) for t in _run(backend, 1)] == [2]


def test_sequential_requests_reuse_one_connection() -> None:
    # the body is read to its end after [DONE], so the pooled keep-alive connection is reused: the
    # /health probe of load() and five answers go over one TCP connection (each used to open its own)
    with SSEServer(tokens=3, ttft_s=0.0, delay_s=0.0) as server:
        backend = OpenAIBackend({"api_base": server.url, "api_model": "m", "max_output_tokens": 3})
        backend.load()
        assert [len(t) for t in _run(backend, 5)] == [3] * 5
        assert server.served == 5
        assert server.connections == 1
        assert backend.drain is True


def test_a_body_left_open_after_done_does_not_hold_the_answer() -> None:
    # a server that keeps the body open after [DONE] (until the test releases it, or 60 s): the answer
    # is complete at [DONE], the bounded drain gives up and closes that connection, draining is then
    # off, and the next request opens a new connection and returns at [DONE] too
    with SSEServer(tokens=2, ttft_s=0.0, delay_s=0.0, hold_after_done=True) as server:
        backend = OpenAIBackend({"api_base": server.url, "api_model": "m", "max_output_tokens": 2})
        backend.load()
        try:
            assert [len(t) for t in _run(backend, 2)] == [2, 2]
            assert backend.drain is False
            assert server.connections == 2
        finally:
            server.release.set()
        # both holds were still open when the client had its answers: ended by the release, not the 60 s
        deadline_ok = _wait_for(lambda: len(server.holds_ended) == 2)
        assert deadline_ok and server.holds_ended == ["release", "release"]


def _wait_for(cond, timeout: float = 60.0) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()
