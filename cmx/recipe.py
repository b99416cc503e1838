"""A recipe as the index knows it: identity, tags, parsed meta and content digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cmx.errors import Location


@dataclass(frozen=True)
class Recipe:
    alias: str
    uid: str
    tags: tuple[str, ...]
    path_text: str  # the folder; `path` is its Path, built on first use (planning 10k recipes
    meta_file_text: str  # would otherwise spend a tenth of its time parsing paths)
    repo: str
    digest: str  # sha256 over every content file of the recipe folder
    file_digests: tuple[tuple[str, str], ...]  # (relative name, sha256), for `explain`
    meta: dict[str, Any] = field(hash=False, compare=False)
    lines: dict[str, int] = field(hash=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_text", str(self.path_text))
        object.__setattr__(self, "meta_file_text", str(self.meta_file_text))

    @cached_property
    def path(self) -> Path:
        return Path(self.path_text)

    @cached_property
    def meta_file(self) -> Path:
        return Path(self.meta_file_text)

    @property
    def sort(self) -> int:
        return int(self.meta.get("sort", 0) or 0)

    @property
    def cached(self) -> bool:
        return bool(self.meta.get("cache", False))

    @property
    def probe(self) -> bool:
        return bool(self.meta.get("probe", False))

    @property
    def variation_names(self) -> tuple[str, ...]:
        return tuple((self.meta.get("variations") or {}).keys())

    def location(self, *path: Any) -> Location:
        """file:line of a key inside this recipe's meta (best effort)."""
        parts = [str(p) for p in path]
        while parts:
            line = self.lines.get("/".join(parts))
            if line:
                return Location(self.meta_file_text, line)  # type: ignore[arg-type]  # str formats the same
            parts.pop()
        return Location(self.meta_file_text)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "uid": self.uid,
            "tags": list(self.tags),
            "path": self.path_text,
            "meta_file": self.meta_file_text,
            "repo": self.repo,
            "digest": self.digest,
            "file_digests": [list(p) for p in self.file_digests],
            "meta": self.meta,
            "lines": self.lines,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Recipe":
        return cls(
            alias=d["alias"],
            uid=d["uid"],
            tags=tuple(d["tags"]),
            path_text=d["path"],
            meta_file_text=d["meta_file"],
            repo=d["repo"],
            digest=d["digest"],
            file_digests=tuple((a, b) for a, b in d["file_digests"]),
            meta=d["meta"],
            lines=d["lines"],
        )


def meta_tags(meta: dict[str, Any]) -> tuple[str, ...]:
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.replace(" ", ",").split(",") if t]
    return tuple(str(t) for t in tags)
