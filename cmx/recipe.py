"""A recipe as the index knows it: identity, tags, parsed meta and content digest."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from cmx.errors import Location
from cmx.selector import nfc


_PHASE_KEYS = ("deps", "prehook_deps", "posthook_deps", "post_deps")  # cmx.plan.node.PHASES (which imports this module)


def planning_line(key: str) -> bool:
    """Is ``key`` a line-map entry every plan reads: a dependency entry ("deps/3", named as the
    requirement's source) or a version bound? Errors may read any other entry."""
    head, _, rest = key.partition("/")
    if not rest:
        return key in ("version_min", "version_max")
    return head in _PHASE_KEYS and rest.isdigit()


class LazyLines(Mapping[str, int]):
    """A recipe's line map as the index stores it: the entries planning reads (see
    ``planning_line``) up front, the rest unpickled on first use (most recipes never need them)."""

    __slots__ = ("_planning", "_blob", "_all")

    def __init__(self, planning: dict[str, int], blob: bytes) -> None:
        self._planning = planning
        self._blob = blob
        self._all: dict[str, int] | None = None

    def _full(self) -> dict[str, int]:
        if self._all is None:
            self._all = pickle.loads(self._blob)
        return self._all

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self._planning.get(key)
        return found if found is not None else self._full().get(key, default)

    def __getitem__(self, key: str) -> int:
        return self._full()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())


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
    lines: Mapping[str, int] = field(hash=False, compare=False)  # "deps/0" -> line in meta_file

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

    @cached_property
    def probe(self) -> bool:  # read for every edge and node of a plan
        return bool(self.meta.get("probe", False))

    @cached_property
    def foreign(self) -> bool:
        """A recipe of a CM/MLC repository (its folder is in a ``script/`` folder): ``path.parent.name ==
        "script"`` without making two Paths (planning reads it for every node)."""
        return _foreign(self.path_text)

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

    def changed_files(self) -> list[str]:
        """Content files that differ now from what the index hashed (edited, removed or added):
        a build whose recipe changed while it ran must not be published under the old key."""
        import hashlib

        from cmx.index import _content_files

        changed = []
        known = set()
        for name, want in self.file_digests:
            if name.startswith("@"):  # a code_paths file, relative to the recipe folder
                rel = name[1:]
                path = self.path / rel
            else:
                known.add(name)
                path = self.path / name
            try:
                got = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                got = None
            if got != want:
                changed.append(name)
        changed += [f for f in _content_files(self.path) if f not in known]
        return changed

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
            "lines": dict(self.lines),
        }

    def field_values(self) -> tuple[Any, ...]:
        """Every field's value, in order, the line map split as ``LazyLines`` keeps it:
        what the index pickles (see ``restore``)."""
        lines = dict(self.lines)
        planning = {k: v for k, v in lines.items() if planning_line(k)}
        blob = pickle.dumps(lines, protocol=pickle.HIGHEST_PROTOCOL)
        return tuple(getattr(self, name) for name in _FIELD_NAMES[:-1]) + ((planning, blob),)

    @classmethod
    def restore(cls, values: tuple[Any, ...]) -> "Recipe":
        """The inverse of ``field_values``, without re-checking values the index wrote itself
        (``__init__`` of a frozen dataclass costs as much as unpickling the meta)."""
        recipe = object.__new__(cls)
        d = recipe.__dict__
        d.update(zip(_FIELD_NAMES, values))
        d["lines"] = LazyLines(*values[-1])
        # (the cached properties, set here: planning reads them for every node)
        d["probe"] = bool(d["meta"].get("probe", False))
        d["foreign"] = _foreign(d["path_text"])
        return recipe

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


def _foreign(path_text: str) -> bool:
    # (path_text is a str(Path): normalized, so its dirname's basename is Path(path_text).parent.name)
    return os.path.basename(os.path.dirname(path_text)) == "script"


_FIELD_NAMES = tuple(f.name for f in fields(Recipe))
assert _FIELD_NAMES[-1] == "lines"  # field_values/restore carry it last, split


def meta_tags(meta: dict[str, Any]) -> tuple[str, ...]:
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.replace(" ", ",").split(",") if t]
    return tuple(nfc(str(t)) for t in tags)  # compared with a selector's tags in NFC
