"""Values the executor hands back (kept tiny: imported on the cached fast path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NodeResult:
    node_index: int
    key: str | None
    new_env: dict[str, Any]
    new_state: dict[str, Any]
    cached: bool
    path: str | None
    version: str | None
    output_digest: str
    seconds: float = 0.0
    skipped: bool = False


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1
    new: bool = False
    skip_cache: bool = False
    verbose: bool = False
    quiet: bool = False
    user_env: tuple[tuple[str, Any], ...] = ()
    rerun_flags: tuple[str, ...] = ()


class Reporter:
    """Receives progress events; the CLI's console reporter prints them."""

    def node_started(self, node: Any, why: str) -> None: ...
    def node_finished(self, node: Any, result: NodeResult) -> None: ...
    def node_failed(self, node: Any, error: Exception) -> None: ...
    def output(self, node: Any, line: str) -> None: ...
    def note(self, text: str) -> None: ...
