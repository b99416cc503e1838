"""One exception hierarchy for the whole engine.

Every error carries the data a user needs to act on it (file and line, the flag,
the recipe, the requirement and who asked for it) and an exit code:
2 for usage and recipe-definition errors, 1 for a recipe that failed while running.
The CLI prints ``str(error)`` and never a traceback unless ``-v`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

EXIT_FAILED = 1
EXIT_USAGE = 2


class CmxError(Exception):
    """Root of every error cmx raises on purpose."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(CmxError):
    """A bad command-line flag or API input."""


@dataclass(frozen=True)
class Location:
    """A place in a recipe file: what a definition error points at."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class UnknownInputError(UsageError):
    """An input flag the recipe's ``input_mapping`` does not have (the CLI tells engine flags apart)."""

    def __init__(self, recipe: str, flag: str, source: str, known: Sequence[str], *, hint: str | None = None) -> None:
        shown = ", ".join(f"--{k}" for k in sorted(known)) or "(none)"
        super().__init__(f"recipe '{recipe}' has no input --{flag} (given by {source})\n  its inputs: {shown}", hint=hint)
        self.recipe = recipe
        self.flag = flag
        self.source = source
        self.known = tuple(known)


class NothingFound(CmxError):
    """A search (``cmx find script``) matched nothing: exit 1, as grep does."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.json_extra = {"list": []}


class RecipeDefinitionError(CmxError):
    """A recipe's meta is malformed: bad YAML, wrong types, unknown keys."""

    def __init__(self, location: Location, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{location}: {message}", hint=hint)
        self.location = location


class SelectorSyntaxError(UsageError):
    """A tag selector that cannot be parsed; shows a caret under the bad token."""

    def __init__(self, text: str, start: int, length: int, message: str) -> None:
        caret = " " * start + "^" * max(1, length)
        super().__init__(f"{message}\n    {text}\n    {caret}")
        self.text = text
        self.start = start


class SelectionError(CmxError):
    """No recipe (or no variation) matches what was asked for."""


@dataclass(frozen=True)
class Requirement:
    """One constraint and who asked for it (resolvelib's (requirement, parent) pair)."""

    what: str
    source: str

    def __str__(self) -> str:
        return f"{self.what}  (asked by {self.source})"


class ResolutionImpossible(CmxError):
    """Constraints on one node cannot all hold; lists each with its source."""

    def __init__(self, subject: str, causes: Sequence[Requirement], reason: str) -> None:
        lines = [f"cannot satisfy {subject}: {reason}"]
        lines += [f"  - {c}" for c in causes]
        super().__init__("\n".join(lines))
        self.subject = subject
        self.causes = tuple(causes)


class CycleError(CmxError):
    """The dependency graph loops back on itself."""

    def __init__(self, path: Sequence[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(path))
        self.path = tuple(path)


class FrozenMismatch(CmxError):
    """`--frozen LOCK` was given and the plan resolves differently."""

    def __init__(self, lockfile: Path, differences: Sequence[str]) -> None:
        body = "\n".join(f"  - {d}" for d in differences)
        super().__init__(f"plan differs from lockfile {lockfile}:\n{body}")
        self.differences = tuple(differences)


class CacheError(CmxError):
    """The cache store is unusable (permissions, corrupt entry, lock timeout)."""

    exit_code = EXIT_FAILED


class RecipeFailed(CmxError):
    """A recipe failed while running: its script exited non-zero or a hook failed."""

    exit_code = EXIT_FAILED

    def __init__(
        self,
        recipe: str,
        message: str,
        *,
        chain: Sequence[str] = (),
        exit_status: int | None = None,
        log_path: Path | None = None,
        log_tail: Sequence[str] = (),
        rerun: str | None = None,
    ) -> None:
        parts = [f"recipe '{recipe}' failed: {message}"]
        if chain:
            parts.append("  required by: " + " <- ".join(chain))
        if log_tail:
            parts.append("  last lines of its log:")
            parts += [f"    | {line}" for line in log_tail]
        if log_path:
            parts.append(f"  log: {log_path}")
        if rerun:
            parts.append(f"  re-run only this node: {rerun}")
        super().__init__("\n".join(parts))
        self.recipe = recipe
        self.chain = tuple(chain)
        self.exit_status = exit_status
        self.log_path = log_path
        self.rerun = rerun


class Interrupted(KeyboardInterrupt):
    """cmx received SIGINT, SIGTERM or SIGHUP: not a CmxError, so nothing on the way up catches it
    as a failure. The CLI stops the running scripts and exits with 128 + ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
