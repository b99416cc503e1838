"""A backend that answers instantly with fixed tokens: measures the adapter's own overhead."""

from __future__ import annotations

from typing import Any, Sequence

from flexbench.backends.base import DoneCallback, FirstCallback


class NoopBackend:
    name = "noop"
    instant = True  # answers whole batches at once (generate_all): one LoadGen call per batch

    def __init__(self, config: dict[str, Any]) -> None:
        self.tokens = list(range(1, int(config.get("noop_tokens", 16)) + 1))
        self.max_batch = int(config.get("batch_size", 1024))

    def load(self) -> dict[str, float]:
        return {"model_load_s": 0.0}

    def prompt_for(self, question: str, system_prompt: str) -> str:
        return question

    def generate(self, prompts: Sequence[str], on_first: FirstCallback, on_done: DoneCallback) -> None:
        for row in range(len(prompts)):
            on_first(row, self.tokens[:1])
            on_done(row, self.tokens)

    def generate_all(self, samples: Sequence[object]) -> list[list[int]]:
        """Answers for LoadGen's query samples (``.index`` names the prompt), all at once."""
        return [self.tokens] * len(samples)

    def decode(self, token_ids: Sequence[int]) -> str:
        return " ".join(str(t) for t in token_ids)

    def describe(self) -> dict[str, object]:
        return {"backend": "noop", "tokens_per_sample": len(self.tokens)}
