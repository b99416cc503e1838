"""The registry of recipe repositories (``repos.yaml``) and their layouts.

A repository is a folder holding ``scripts/`` (this project's layout), CM's
``script/`` (with ``cmr.yaml``), or recipes directly as subfolders.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cmx.errors import CacheError, Location, RecipeDefinitionError, UsageError
from cmx.home import Home

BUILTIN = "builtin"


@dataclass(frozen=True)
class Repo:
    alias: str
    path: Path
    url: str | None = None
    branch: str | None = None

    @property
    def container(self) -> Path:
        """The folder whose subfolders are recipes."""
        for sub in ("scripts", "script"):
            if (self.path / sub).is_dir():
                return self.path / sub
        return self.path

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"alias": self.alias, "path": str(self.path)}
        if self.url:
            d["url"] = self.url
        if self.branch:
            d["branch"] = self.branch
        return d


def builtin_repo() -> Repo:
    return Repo(BUILTIN, Home.builtin_scripts().parent)


def read_registered(home: Home) -> list[Repo]:
    """Parse repos.yaml (registered repositories, in priority order)."""
    path = home.repos_file
    if not path.is_file():
        return []
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise RecipeDefinitionError(Location(path, line), f"invalid YAML: {exc.problem}") from exc
    entries = (data.get("repos") or []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RecipeDefinitionError(Location(path), "expected a mapping with a 'repos:' list")
    repos = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "path" not in entry:
            raise RecipeDefinitionError(Location(path), f"repos[{i}] needs a 'path'")
        p = Path(str(entry["path"])).expanduser()
        if not p.is_absolute():
            p = (home.root / p).resolve()
        repos.append(Repo(str(entry.get("alias") or p.name), p, entry.get("url"), entry.get("branch")))
    return repos


def write_registered(home: Home, repos: list[Repo]) -> None:
    """Replace repos.yaml atomically (a temporary file, fsynced, renamed over it). Callers that read,
    change and write it go through ``update_registered``, which holds the registry lock."""
    import tempfile

    import yaml

    home.root.mkdir(parents=True, exist_ok=True)
    body = {"repos": [r.to_json() for r in repos]}
    text = "# Recipe repositories registered with `cmx add repo` / `cmx pull repo`.\n"
    text += yaml.safe_dump(body, sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=home.root, prefix=".repos.yaml.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, home.repos_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


REGISTRY_LOCK_TIMEOUT_S = 60.0


def update_registered(home: Home, change: Callable[[list[Repo]], list[Repo]]) -> list[Repo]:
    """Read repos.yaml, apply ``change`` and write the result, holding a lock on the registry so that
    concurrent `cmx add repo` / `rm repo` / `pull repo` never lose each other's updates."""
    from filelock import FileLock, Timeout

    home.root.mkdir(parents=True, exist_ok=True)
    lock_path = home.root / ".repos.yaml.lock"
    try:
        with FileLock(str(lock_path), timeout=REGISTRY_LOCK_TIMEOUT_S):
            repos = change(read_registered(home))
            write_registered(home, repos)
            return repos
    except Timeout as exc:
        raise CacheError(f"repos.yaml is locked by another cmx command (waited {REGISTRY_LOCK_TIMEOUT_S:.0f} s for "
                         f"{lock_path})") from exc


def all_repos(home: Home) -> list[Repo]:
    """Every repository in precedence order: the built-in recipes first, then the registered ones in
    repos.yaml order, so that a repository added later never changes what worked before."""
    builtin = builtin_repo()
    registered = [r for r in read_registered(home) if r.path.resolve() != builtin.path.resolve()]
    return [builtin] + registered


def check_layout(path: Path) -> None:
    """Refuse a folder that is not a recipe repository, saying what was expected."""
    from cmx.meta.loader import find_meta_file

    if not path.is_dir():
        raise UsageError(f"not a folder: {path}")
    repo = Repo(path.name, path)
    container = repo.container
    if any(find_meta_file(p) for p in container.iterdir() if p.is_dir()):
        return
    raise UsageError(
        f"{path} holds no recipes",
        hint="a repository is a folder with scripts/<recipe>/meta.yaml, CM's script/<recipe>/_cm.yaml, "
        "or recipe folders directly inside it",
    )
