"""One exception hierarchy for ``flexbench.mlperf``.

Every error is short and names the bad value; where a set of allowed values is
known, it lists them and suggests the nearest one. Recipes print ``str(error)``
on stderr and exit with ``exit_code`` (2: bad input, 1: a step failed).
"""

from __future__ import annotations

import difflib
from typing import Iterable

EXIT_FAILED = 1
EXIT_USAGE = 2


class SubmissionError(Exception):
    """Root of every error ``flexbench.mlperf`` raises on purpose."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnknownValueError(SubmissionError):
    """A name (benchmark, scenario, division...) outside the allowed set."""

    def __init__(self, what: str, value: object, allowed: Iterable[str]) -> None:
        allowed_t = tuple(allowed)
        near = difflib.get_close_matches(str(value), allowed_t, n=1, cutoff=0.4)
        msg = f"unknown {what} {value!r}; allowed: {', '.join(allowed_t)}"
        if near:
            msg += f" (did you mean {near[0]!r}?)"
        super().__init__(msg)
        self.what = what
        self.value = value
        self.allowed = allowed_t
        self.nearest = near[0] if near else None


class TreeError(SubmissionError):
    """The input is not a submission tree at all (missing folder, not a directory)."""


class OfficialCheckerError(SubmissionError):
    """MLPerf's own checker could not be run (not a verdict about the tree)."""

    exit_code = EXIT_FAILED
