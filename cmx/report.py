"""Console progress: one line per node on stderr (rich on a terminal, plain text otherwise)."""

from __future__ import annotations

import sys
import threading
from typing import Any

from cmx.errors import CmxError
from cmx.execute.result import NodeResult, Reporter
from cmx.plan.node import PlanNode


class ConsoleReporter(Reporter):
    def __init__(self, *, quiet: bool = False, verbose: bool = False, total: int = 0) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.total = total
        self.done = 0
        self.lock = threading.Lock()
        self.console: Any = None
        self.lines: list[str] = []  # what was printed, for a replay of a fully cached run
        if not quiet and sys.stderr.isatty():
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    def _print(self, text: str, style: str = "") -> None:
        with self.lock:
            self.lines.append(text)
            if self.console is not None:
                # soft_wrap: never break a line (a long cache path) into pieces; the terminal wraps it for
                # display and a copy of it stays one path
                self.console.print(text, style=style or None, markup=False, soft_wrap=True)
            else:
                print(text, file=sys.stderr, flush=True)

    def node_started(self, node: PlanNode, why: str) -> None:
        if self.verbose and not self.quiet:
            self._print(f"  ... {node.label}  running ({why})", "dim")

    def node_finished(self, node: PlanNode, result: NodeResult) -> None:
        self.done += 1
        if self.quiet:
            return
        state = "cached" if result.cached else "done"
        where = f"  {result.path}" if self.verbose and result.path else ""
        self._print(f"  [{self.done}] {node.label:<40} {state:<7} {result.seconds:6.2f}s{where}",
                    "green" if result.cached else "bold green")

    def node_failed(self, node: PlanNode, error: CmxError) -> None:
        if not self.quiet:
            self._print(f"  [x] {node.label:<40} FAILED", "bold red")

    def output(self, node: PlanNode, line: str) -> None:
        self._print(f"  {node.alias}| {line}")

    def summary(self, text: str) -> None:
        if not self.quiet:
            self._print(text)

    def note(self, text: str) -> None:
        if not self.quiet:
            self._print(f"note: {text}", "yellow")
