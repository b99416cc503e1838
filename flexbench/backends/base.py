"""The backend contract the LoadGen adapter drives.

``generate(prompts, on_first, on_done)`` processes one batch. For each row it
calls ``on_first(row, token_ids)`` when the first output token exists and
``on_done(row, token_ids)`` when the row is finished, as early as it can, from
any thread. A backend error raises ``BackendError``; the adapter then ends the
run with a recorded failure instead of hanging.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

FirstCallback = Callable[[int, Sequence[int]], None]
DoneCallback = Callable[[int, Sequence[int]], None]


class BackendError(RuntimeError):
    pass


class Backend(Protocol):
    name: str
    max_batch: int

    def load(self) -> dict[str, float]: ...  # returns timings (seconds): model load etc.
    def prompt_for(self, question: str, system_prompt: str) -> str: ...
    def generate(self, prompts: Sequence[str], on_first: FirstCallback, on_done: DoneCallback) -> None: ...
    def decode(self, token_ids: Sequence[int]) -> str: ...
    def describe(self) -> dict[str, object]: ...
