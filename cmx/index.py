"""Persistent recipe index, refreshed by modification time.

A warm lookup reads one JSON file and stats each recipe's files; only recipes
whose files changed are re-parsed (YAML and the schema are imported only then).
Broken recipes are kept in the index with their error, which is raised when a
selection reaches them, so one bad recipe does not break every command.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from cmx.errors import CmxError, RecipeDefinitionError, SelectionError, UsageError
from cmx.home import Home
from cmx.recipe import Recipe, meta_tags
from cmx.repos import Repo, all_repos
from cmx.selector import Selector, split_repo

INDEX_FORMAT = 13
# the recipe blobs are marshal data when they can be (see _encode): its format belongs to the Python version
_PYTHON = ".".join(str(v) for v in sys.version_info[:2])
# cmx's own modules that decide what an index entry holds (the meta's parsing, its schema, the recipe's
# fields, the tag spelling): an edit to one (a schema that gained a key) re-checks every recipe. Their stat
# signatures are compared on each load, a handful of os.stat calls, never their content.
_CODE_DIR = os.path.dirname(os.path.abspath(__file__))
INDEX_CODE = ("index.py", "recipe.py", "selector.py", "meta/__init__.py", "meta/loader.py", "meta/schema.py")
_SKIP_DIRS = {"tests", "__pycache__", ".git"}
_SKIP_PREFIXES = ("README", "tmp-", ".")


def _stat_sig(path: Path | str) -> list[int] | None:
    """(mtime_ns, size), or None if missing: what tells a recipe file changed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _code_sig() -> list[list[int] | None]:
    """The stat signatures of INDEX_CODE: an index built by other code is rebuilt."""
    return [_stat_sig(os.path.join(_CODE_DIR, f)) for f in INDEX_CODE]


MAX_RECIPE_FILES = 10_000  # content files of one recipe, its code_paths included (docs/recipe-format.md#limits)
# folders outside a repository that its recipes may read through code_paths or symlinks (os.pathsep-separated)
ALLOW_ENV = "CMX_ALLOW_CODE_PATHS"


def _content_dirs(recipe_dir: Path, files: list[str]) -> list[str]:
    return sorted({str(Path(f).parent) for f in files if "/" in f})


class _Unreadable(Exception):
    """Why a recipe cannot be indexed: stored as a broken recipe naming ``path``."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _content_files(recipe_dir: Path, roots: Sequence[str] = (), budget: list[int] | None = None) -> list[str]:
    """Files that make up a recipe's content (what its digest covers). Subfolders are entered but
    never through a symlink; a symlinked file must resolve inside ``roots`` (when given). Raises
    _Unreadable for what cannot be listed (a symlink loop, a permission) and past MAX_RECIPE_FILES."""
    budget = [MAX_RECIPE_FILES] if budget is None else budget
    out: list[str] = []
    stack = [("", recipe_dir)]
    while stack:
        rel, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise _Unreadable(folder, f"cannot list this folder: {exc.strerror or exc}") from exc
        for e in entries:
            if e.name.startswith(_SKIP_PREFIXES) or e.name.endswith(".pyc"):
                continue
            name = f"{rel}{e.name}"
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.name not in _SKIP_DIRS:
                        stack.append((name + "/", Path(e.path)))
                    continue
                if not e.is_file():
                    continue
                if roots and e.is_symlink():
                    target = os.path.realpath(e.path)
                    if not _inside(target, roots):
                        raise _Unreadable(e.path, f"a symlink to {target}, outside the repository "
                                                  f"(allow a folder with {ALLOW_ENV}=DIR)")
            except OSError as exc:  # a symlink loop, a permission
                raise _Unreadable(e.path, f"cannot read: {exc.strerror or exc}") from exc
            budget[0] -= 1
            if budget[0] < 0:
                raise _Unreadable(recipe_dir, f"more than {MAX_RECIPE_FILES:,} files in one recipe "
                                              "(docs/recipe-format.md#limits)")
            out.append(name)
    return sorted(out)


@dataclass(frozen=True)
class BrokenRecipe:
    alias: str
    path: Path
    tags: tuple[str, ...]
    error: str
    location: str
    repo: str = ""

    def raise_error(self) -> None:
        raise CmxError(self.error)


def _allowed_roots(repo: Repo) -> tuple[str, ...]:
    """Where a repository's recipes may read files: the repository, and what the user allows."""
    return _roots(str(repo.path), os.environ.get(ALLOW_ENV, ""))


@functools.lru_cache(maxsize=64)
def _roots(repo_path: str, allowed: str) -> tuple[str, ...]:
    extra = [os.path.realpath(os.path.expanduser(p)) for p in allowed.split(os.pathsep) if p]
    return (os.path.realpath(repo_path), *extra)


def _broken_entry(folder: Path, repo: Repo, error: str, location: str, tags: list[str]) -> dict[str, Any]:
    return {"dir": str(folder), "dir_sig": _stat_sig(folder), "files": {}, "subdirs": {}, "repo": repo.alias,
            "broken": {"error": error, "location": location, "tags": tags, "repo": repo.alias}}


def _scan_recipe(folder: Path, repo: Repo) -> dict[str, Any]:
    """The index entry of one recipe folder; a recipe that cannot be read or is refused is a broken
    entry with its reason, so that one bad recipe never stops the others from being indexed."""
    try:
        return _scan_recipe_unchecked(folder, repo)
    except _Unreadable as exc:
        entry = _broken_entry(folder, repo, str(exc), exc.path, [folder.name])
        # what a fix changes: the failing path, its folder (maybe deep inside) and the meta
        watched = {exc.path, os.path.dirname(exc.path)} | {str(folder / n) for n in ("meta.yaml", "_cm.yaml", "_cm.json")}
        entry["extra"] = {p: _stat_sig(p) for p in sorted(watched)}
        return entry
    except Exception as exc:  # whatever else a hostile folder causes: reported when the recipe is asked for
        return _broken_entry(folder, repo, f"{folder}: cannot index this recipe: {type(exc).__name__}: {exc}",
                             str(folder), [folder.name])


def _scan_recipe_unchecked(folder: Path, repo: Repo) -> dict[str, Any]:
    from cmx.meta.loader import find_meta_file, parse_meta

    meta_file = find_meta_file(folder)
    if meta_file is None:
        raise _Unreadable(folder, "its meta file cannot be read")
    roots = _allowed_roots(repo)
    budget = [MAX_RECIPE_FILES]
    files = _content_files(folder, roots, budget)
    sigs = {sys.intern(f): _stat_sig(folder / f) for f in files}  # interned: "meta.yaml" is pickled once
    entry: dict[str, Any] = {"dir": str(folder), "dir_sig": _stat_sig(folder), "files": sigs, "repo": repo.alias,
                             "subdirs": {d: _stat_sig(folder / d) for d in _content_dirs(folder, files)}}
    try:
        loaded = parse_meta(meta_file, foreign=repo.container.name == "script")  # CM/MLC's layout
    except RecipeDefinitionError as exc:
        entry["broken"] = {"error": str(exc), "location": str(exc.location), "repo": repo.alias,
                           "tags": _lenient_tags(meta_file)}
        return entry
    customize = folder / "customize.py"
    if customize.is_file():
        try:
            compile(customize.read_bytes(), str(customize), "exec")
        except SyntaxError as exc:
            entry["broken"] = {"error": f"{customize}:{exc.lineno}: syntax error in customize.py: {exc.msg}",
                               "location": f"{customize}:{exc.lineno}", "tags": list(meta_tags(loaded.data)),
                               "repo": repo.alias}
            return entry
    digests = []
    total = hashlib.sha256()
    for f in files:
        h = _file_digest(folder / f)
        digests.append((f, h))
        total.update(f"{f}\0{h}\n".encode())
    meta = loaded.data
    # code a recipe runs from outside its folder (e.g. the flexbench package) is part of its content too;
    # it must lie inside the repository (or a folder the user allows), never anywhere on the host
    extra: dict[str, Any] = {}
    for n, rel in enumerate(meta.get("code_paths") or []):
        target = Path(os.path.realpath(folder / str(rel)))
        if not _inside(str(target), roots):
            where = loaded.lines.get(f"code_paths/{n}") or loaded.lines.get("code_paths")
            raise _Unreadable(f"{meta_file}:{where}" if where else meta_file,
                              f"code_paths entry '{rel}' is {target}, outside the repository {roots[0]} "
                              f"(allow a folder with {ALLOW_ENV}=DIR)")
        names = [""] if target.is_file() else _content_files(target, roots, budget) if target.is_dir() else []
        for name in names:
            path = target / name if name else target
            if not path.is_file():
                continue
            label = f"@{rel}/{name}" if name else f"@{rel}"
            h = _file_digest(path)
            digests.append((label, h))
            total.update(f"{label}\0{h}\n".encode())
            extra[str(path)] = _stat_sig(path)
        extra[str(target)] = _stat_sig(target)
    entry["extra"] = extra
    alias = str(meta.get("alias") or folder.name)
    recipe = Recipe(
        alias=alias,
        uid=str(meta.get("uid") or hashlib.sha256(alias.encode()).hexdigest()[:16]),
        tags=meta_tags(meta),
        path_text=str(folder),
        meta_file_text=str(meta_file),
        repo=repo.alias,
        digest=total.hexdigest(),
        file_digests=tuple(digests),
        meta=meta,
        lines=loaded.lines,
    )
    # what lookups need before the recipe is decoded: (sort, repo, alias, path, uid, tags)
    entry["stub"] = (recipe.sort, sys.intern(recipe.repo), recipe.alias, str(recipe.path), recipe.uid,
                     tuple(sys.intern(t) for t in recipe.tags))
    entry["blob"] = _encode(recipe.field_values())
    return entry


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise _Unreadable(path, f"cannot read: {exc.strerror or exc}") from exc
    return h.hexdigest()


def _interned(value: Any) -> Any:
    """``value`` with its dict keys interned: recipes share key names ("deps", "tags", "env"...),
    and marshal writes an interned string so that loading it yields the one shared copy."""
    if isinstance(value, dict):
        return {sys.intern(k) if type(k) is str else k: _interned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interned(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_interned(v) for v in value)
    return value


def _encode(values: tuple[Any, ...]) -> bytes:
    """A recipe's fields as stored in the index: marshal (a quarter faster to load than pickle, and
    the interned keys are shared), or pickle for values marshal cannot hold (YAML dates)."""
    try:
        return b"M" + marshal.dumps(_interned(values))
    except ValueError:
        return b"P" + pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(blob: bytes) -> tuple[Any, ...]:
    data = memoryview(blob)[1:]
    return marshal.loads(data) if blob[0] == 77 else pickle.loads(data)  # 77: "M"


def _lenient_tags(meta_file: Path) -> list[str]:
    """Best-effort tags of a broken recipe so a selection can still point at it."""
    from cmx.meta.loader import MAX_META_BYTES, _check_limits, read_meta_text

    try:
        import yaml

        text = read_meta_text(meta_file)
        _check_limits(text, meta_file)  # never build what the limits refuse
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
        if isinstance(data, dict):
            return list(meta_tags(data)) + [meta_file.parent.name]
    except Exception:  # the file is broken; fall back to the tags line, then the folder name
        pass
    import re

    try:
        with open(meta_file, "rb") as fh:
            text = fh.read(MAX_META_BYTES).decode("utf-8", errors="replace")
    except OSError:
        text = ""
    m = re.search(r"^tags:\s*\[?([^\]\n]*)\]?\s*$", text, re.M)
    tags = [t.strip(" '\"") for t in m.group(1).split(",") if t.strip(" '\"")] if m else []
    return tags + [meta_file.parent.name]


_new_tuple = tuple.__new__


class _Stub(NamedTuple):
    """What lookups need of a recipe; the full Recipe is decoded on first use.
    (A named tuple, not a frozen dataclass: ten thousand are made on every command.)"""

    alias: str
    uid: str
    tags: tuple[str, ...]
    blob: bytes
    repo: str
    key: str  # the folder: the recipe's entry in the index file


class RecipeIndex:
    """All recipes of all repositories, with lookup by alias, uid and tags.

    Precedence: recipes are kept in the order of their repositories (the built-in recipes first,
    then the registered repositories in repos.yaml order), then by `sort`, alias and path; every
    lookup returns them in that order and a selection takes the first. ``REPO:`` in front of a name
    or a tag list restricts a lookup to one repository.
    """

    def __init__(self, recipes: Sequence[Recipe | _Stub], broken: list[BrokenRecipe], repos: list[Repo],
                 tables: tuple[dict[str, list[int]], dict[str, list[int]], dict[str, list[int]]] | None = None) -> None:
        self._items: list[Recipe | _Stub] = list(recipes)
        self.broken = broken
        self.repos = repos
        self._rank = {r.alias: n for n, r in enumerate(repos)}
        # (path, stat signature) of everything the index was built from: what a
        # memoized result must re-check before it is trusted (see cmx.fastpath); built on first use
        self._watch: list[tuple[str, Any]] | None = None
        self._watch_source: tuple[Any, ...] | None = None
        if tables is not None:  # built from these very recipes before (see load)
            self._by_alias, self._by_uid, self._by_tag = tables
            return
        by_alias: dict[str, list[int]] = {}
        by_uid: dict[str, list[int]] = {}
        by_tag: dict[str, list[int]] = {}
        for i, r in enumerate(self._items):
            by_alias.setdefault(r.alias, []).append(i)
            by_uid.setdefault(r.uid, []).append(i)
            for t in r.tags:
                ids = by_tag.get(t)
                if ids is None:
                    by_tag[t] = [i]
                else:
                    ids.append(i)
        self._by_alias, self._by_uid, self._by_tag = by_alias, by_uid, by_tag

    @property
    def watch(self) -> list[tuple[str, Any]]:
        if self._watch is None:
            self._watch = _watch_list(*self._watch_source) if self._watch_source is not None else []
        return self._watch

    @watch.setter
    def watch(self, value: list[tuple[str, Any]]) -> None:
        self._watch = value

    def _get(self, i: int) -> Recipe:
        item = self._items[i]
        if item.__class__ is _Stub:
            item = Recipe.restore(_decode(item.blob))  # type: ignore[union-attr]
            self._items[i] = item
        return item  # type: ignore[return-value]

    @property
    def recipes(self) -> list[Recipe]:
        return [self._get(i) for i in range(len(self._items))]

    # -- repositories ---------------------------------------------------------------
    def repo_named(self, alias: str) -> str:
        """``alias`` if a repository has it, else a UsageError listing the known ones."""
        if alias not in self._rank:
            import difflib

            close = difflib.get_close_matches(alias, list(self._rank), n=1)
            raise UsageError(f"no repository named '{alias}' (known: {', '.join(self._rank)})",
                             hint=f"did you mean '{close[0]}:'?" if close else "list them with `cmx list repo`")
        return alias

    def rank(self, repo: str) -> int:
        """The precedence of a repository: lower wins (the built-ins are 0)."""
        return self._rank.get(repo, len(self._rank))

    # -- lookup -----------------------------------------------------------------
    def by_name(self, name: str, strict: bool = True) -> list[Recipe]:
        """Recipes with this uid or alias (``REPO:NAME`` for one repository), in precedence order.
        ``strict`` (what selecting uses; `find` lists instead): a uid that several recipes declare is
        ambiguous, and a broken recipe of that alias ahead of the first match is no reason to take the
        next one; both are errors naming the files."""
        repo, name = split_repo(name)
        if repo:
            self.repo_named(repo)
        uids = self._by_uid.get(name)
        if uids:
            found = [i for i in uids if not repo or self._items[i].repo == repo]
            if len(found) > 1 and strict:
                files = "\n".join(f"  {self._get(i).meta_file} ({self._get(i).repo})" for i in found)
                raise SelectionError(f"uid '{name}' is declared by {len(found)} recipes:\n{files}",
                                     hint="select by alias or tags, or qualify it with its repository (REPO:NAME)")
            if found:
                return [self._get(i) for i in found]
        out = [self._get(i) for i in self._by_alias.get(name, []) if not repo or self._items[i].repo == repo]
        if out and strict:
            ahead = [b for b in self.broken if b.alias == name and (not repo or b.repo == repo)
                     and self.rank(b.repo) <= self.rank(out[0].repo)]
            if ahead:
                head, *rest = ahead[0].error.splitlines()
                raise CmxError("\n".join([head, f"  this broken recipe of repository '{ahead[0].repo}' is also named "
                                                 f"'{name}', as is {out[0].alias} ({out[0].repo})"] + rest),
                               hint=f"fix it, or select the other one explicitly: {out[0].repo}:{out[0].alias}")
        return out

    def with_tags(self, tags: Iterable[str], not_tags: Iterable[str] = (), repo: str = "") -> list[Recipe]:
        if repo:
            self.repo_named(repo)
        if tags.__class__ is not tuple:
            tags = tuple(tags)
        found: list[int]
        if not tags:
            found = list(range(len(self._items)))
        else:
            by_tag = self._by_tag
            rarest: list[int] | None = None
            for t in tags:
                ids = by_tag.get(t)
                if ids is None:
                    return []
                if rarest is None or len(ids) < len(rarest):
                    rarest = ids
            assert rarest is not None
            if len(tags) == 1:
                found = rarest  # read only
            elif len(rarest) == 1:  # a tag only one recipe has (the usual dependency request)
                found = rarest if set(tags).issubset(self._items[rarest[0]].tags) else []
            else:
                wanted = set(tags)
                items = self._items
                found = [i for i in rarest if wanted.issubset(items[i].tags)]
        if not_tags:
            excluded = set(not_tags)
            found = [i for i in found if not excluded.intersection(self._items[i].tags)]
        if repo:
            found = [i for i in found if self._items[i].repo == repo]
        if len(found) == 1:  # (most selections)
            return [self._get(found[0])]
        return [self._get(i) for i in found]

    def sole_with_tags(self, tags: Sequence[str]) -> Recipe | None:
        """The recipe that has all of ``tags`` when one of them is a tag of that recipe alone (the usual
        dependency request), else None (no such tag, or no recipe has them all): then ``with_tags(tags)`` is
        ``[that recipe]``. A shortcut for the planner, never a substitute for ``with_tags``."""
        by_tag = self._by_tag
        for t in tags:
            ids = by_tag.get(t)
            if ids is not None and len(ids) == 1:
                i = ids[0]
                own = self._items[i].tags
                for u in tags:
                    if u not in own:
                        return None
                return self._get(i)
        return None

    def candidates(self, selector: Selector) -> list[Recipe]:
        """The recipes a selector may pick, best first (empty if none). Never a silent substitute:
        a broken recipe that matches in the repository of the best match (or the one named by
        ``REPO:``), or in an earlier one, is an error, not a reason to fall back on another recipe."""
        found = self.with_tags(selector.tags, selector.not_tags, selector.repo)
        if not self.broken:  # the common case: planning 10k nodes asks this 10k times
            return found
        broken = self.broken_with_tags(selector.tags, selector.repo, selector.not_tags)
        if broken:
            if not found:
                broken[0].raise_error()
            first = self.rank(found[0].repo)
            ahead = [b for b in broken if self.rank(b.repo) <= first]
            if ahead:
                b = ahead[0]
                head, *rest = b.error.splitlines()
                raise CmxError("\n".join([head, f"  this broken recipe of repository '{b.repo}' matches "
                                                 f"'{selector.text}' as well as {found[0].alias} ({found[0].repo})"]
                                          + rest),
                               hint=f"fix it, remove its repository (`cmx rm repo {b.repo}`), or select the other "
                                    f"one explicitly: {found[0].repo}:{found[0].alias}")
        return found

    def broken_with_tags(self, tags: Iterable[str], repo: str = "", not_tags: Iterable[str] = ()) -> list[BrokenRecipe]:
        wanted = set(tags)
        excluded = set(not_tags)
        out = [b for b in self.broken if wanted and wanted.issubset(b.tags) and not excluded.intersection(b.tags)
               and (not repo or b.repo == repo)]
        return sorted(out, key=lambda b: self.rank(b.repo))

    def broken_named(self, name: str) -> list[BrokenRecipe]:
        repo, name = split_repo(name)
        return [b for b in self.broken if b.alias == name and (not repo or b.repo == repo)]

    def duplicate_uids(self) -> list[tuple[str, list[Recipe]]]:
        """uids declared by more than one recipe (selecting by such a uid is an error)."""
        return [(uid, [self._get(i) for i in ids]) for uid, ids in self._by_uid.items() if len(ids) > 1]

    def all_tags(self) -> list[str]:
        return list(self._by_tag)

    def aliases(self) -> list[str]:
        """Every recipe alias (without decoding the recipes): for did-you-mean hints and completion."""
        return list(self._by_alias)

    # -- loading ------------------------------------------------------------------
    @classmethod
    def load(cls, home: Home) -> "RecipeIndex":
        from cmx.trace import trace

        trace("index", f"loads the recipe index of {home.root}")
        index_file = home.index_dir / "recipes.pickle"
        data: dict[str, Any] | None = None
        try:
            with open(index_file, "rb") as fh:  # our own file in our own cache: pickle loads 3-5x faster than JSON
                data = pickle.load(fh)
            if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or data.get("home") != str(home.root) \
                    or data.get("python") != _PYTHON or data.get("builtin") != str(Home.builtin_scripts()) \
                    or data.get("allow") != os.environ.get(ALLOW_ENV, "") or data.get("code") != _code_sig():
                # (another checkout or a wheel using the same home has its built-ins elsewhere; the folders
                # recipes may read outside their repository changed; cmx's meta schema or parser changed:
                # every recipe's meta, its error included, is checked again)
                data = None
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
            data = None
        repos_sig = _stat_sig(home.repos_file)
        if data is not None and data.get("repos_sig") == repos_sig:
            repos = [Repo(r["alias"], Path(r["path"]), r.get("url"), r.get("branch")) for r in data["repos"]]
        else:
            repos = all_repos(home)
            data = None if data is None else data
        old_entries: dict[str, dict[str, Any]] = (data or {}).get("entries", {})
        old_containers: dict[str, Any] = (data or {}).get("containers", {})
        entries: dict[str, dict[str, Any]] = {}
        containers: dict[str, Any] = {}
        changed = data is None or [r.to_json() for r in repos] != data.get("repos")
        for repo in repos:
            container = repo.container
            sig = _stat_sig(container)
            containers[str(container)] = sig
            if sig is not None and old_containers.get(str(container)) == sig:
                # the set of recipe folders is unchanged: check each one's files
                for key in old_containers.get("_dirs:" + str(container), []):
                    old = old_entries.get(key)
                    if old is not None and old.get("repo") == repo.alias and _fresh(old):
                        entries[key] = old
                    elif old is not None:
                        changed = True
                        if Path(key).is_dir() and _has_meta(Path(key)):
                            entries[key] = _scan_recipe(Path(key), repo)
                containers["_dirs:" + str(container)] = old_containers.get("_dirs:" + str(container), [])
                continue
            changed = True
            dirs = []
            for sub in _listing(container) if sig is not None else []:
                folder = Path(sub.path)
                key = str(folder)
                try:
                    if not sub.is_dir() or sub.name.startswith(".") or not _has_meta(folder):
                        continue
                except OSError as exc:  # a symlink loop in the container: listed as broken, never fatal
                    dirs.append(key)
                    entries[key] = _broken_entry(folder, repo, f"{folder}: cannot read: {exc.strerror or exc}",
                                                 key, [sub.name])
                    continue
                dirs.append(key)
                old = old_entries.get(key)
                entries[key] = old if old is not None and old.get("repo") == repo.alias and _fresh(old) \
                    else _scan_recipe(folder, repo)
            containers["_dirs:" + str(container)] = dirs
        tables = None if changed or data is None else data.get("tables")
        if tables is not None:  # nothing changed: the lookup tables saved with these entries
            index = cls._from_tables(entries, repos, tables)
        else:
            index = cls._from_entries(entries, repos)
        if changed:
            _save(index_file, {
                "format": INDEX_FORMAT,
                "python": _PYTHON,
                "builtin": str(Home.builtin_scripts()),
                "allow": os.environ.get(ALLOW_ENV, ""),
                "code": _code_sig(),
                "home": str(home.root),
                "repos_sig": repos_sig,
                "repos": [r.to_json() for r in repos],
                "containers": containers,
                "entries": entries,
                # the index's order and lookup tables, by entry key: a warm load neither sorts the recipes
                # nor builds the tables again (valid while no entry, repository or container changed)
                "tables": index._tables(),
            })
        # what the watch list is made of, without the recipe blobs (freed as recipes are decoded)
        files = [(e["dir"], e["dir_sig"], e["files"], e.get("subdirs"), e.get("extra")) for e in entries.values()]
        index._watch_source = (str(home.repos_file), repos_sig, containers, files)
        return index

    @classmethod
    def _from_entries(cls, entries: dict[str, dict[str, Any]], repos: list[Repo]) -> "RecipeIndex":
        stubs: list[tuple[tuple[Any, ...], _Stub]] = []
        broken: list[BrokenRecipe] = []
        order = {r.alias: i for i, r in enumerate(repos)}
        for key, e in entries.items():
            stub = e.get("stub")
            if stub is not None:
                sort, repo, alias, path, uid, tags = stub
                # (_Stub(alias, uid, tags, blob, repo, key), without the named tuple's Python-level __new__)
                stubs.append(((order.get(repo, len(order)), sort, alias, path),
                              _new_tuple(_Stub, (alias, uid, tags, e["blob"], repo, key))))
            else:
                b = e["broken"]
                broken.append(BrokenRecipe(Path(key).name, Path(key), tuple(b["tags"]), b["error"], b["location"],
                                           b.get("repo", "")))
        stubs.sort(key=lambda t: t[0])
        return cls([s for _, s in stubs], broken, repos)

    def _tables(self) -> tuple[Any, ...]:
        """What ``_from_tables`` rebuilds this index from: the recipes' folders in order, the broken ones',
        and the lookup tables."""
        return ([r.path_text if r.__class__ is Recipe else r.key for r in self._items],  # type: ignore[union-attr]
                [str(b.path) for b in self.broken], self._by_alias, self._by_uid, self._by_tag)

    @classmethod
    def _from_tables(cls, entries: dict[str, dict[str, Any]], repos: list[Repo], tables: tuple[Any, ...]
                     ) -> "RecipeIndex":
        """``_from_entries(entries, repos)`` for the entries ``tables`` were saved with (``_tables``)."""
        order, broken_keys, by_alias, by_uid, by_tag = tables
        items = []
        for key in order:
            e = entries[key]
            _, repo, alias, _, uid, tags = e["stub"]
            items.append(_new_tuple(_Stub, (alias, uid, tags, e["blob"], repo, key)))
        broken = []
        for key in broken_keys:
            b = entries[key]["broken"]
            broken.append(BrokenRecipe(Path(key).name, Path(key), tuple(b["tags"]), b["error"], b["location"],
                                       b.get("repo", "")))
        return cls(items, broken, repos, (by_alias, by_uid, by_tag))


def _watch_list(repos_file: str, repos_sig: Any, containers: dict[str, Any],
                recipes: list[tuple[str, Any, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]],
                ) -> list[tuple[str, Any]]:
    """(path, stat signature) of repos.yaml, the containers and every recipe's folder and files."""
    watch: list[tuple[str, Any]] = [(repos_file, repos_sig)]
    watch += [(k, v) for k, v in containers.items() if not k.startswith("_dirs:")]
    for folder, folder_sig, files, subdirs, extra in recipes:
        watch.append((folder, folder_sig))
        watch += [(f"{folder}/{name}", sig) for name, sig in files.items()]
        watch += [(f"{folder}/{name}", sig) for name, sig in (subdirs or {}).items()]
        watch += list((extra or {}).items())
    return watch


def _listing(container: Path) -> list[os.DirEntry[str]]:
    """The entries of a repository's recipe folder, by name (none if it cannot be listed)."""
    try:
        return sorted(os.scandir(container), key=lambda e: e.name)
    except OSError:
        return []


def _has_meta(folder: Path) -> bool:
    """Is there a meta file (even one that cannot be read, which then makes a broken recipe)?"""
    return any(os.path.lexists(folder / n) for n in ("meta.yaml", "_cm.yaml", "_cm.json"))


def _same(path: str, sig: list[int] | None) -> bool:
    """Does ``path`` still have the stat signature ``sig`` (see _stat_sig)?"""
    try:
        st = os.stat(path)
    except OSError:
        return sig is None
    return sig is not None and st.st_mtime_ns == sig[0] and st.st_size == sig[1]


def _fresh(entry: dict[str, Any]) -> bool:
    """Plain string paths and os.stat: this runs for every recipe on every command."""
    folder = entry["dir"]
    if not _same(folder, entry["dir_sig"]):
        return False
    prefix = folder + "/"
    stat = os.stat
    for name, sig in entry["files"].items():  # inline _same: ~20k files in a large repository
        try:
            st = stat(prefix + name)
        except OSError:
            if sig is None:  # missing then, missing now
                continue
            return False
        if sig is None or st.st_mtime_ns != sig[0] or st.st_size != sig[1]:
            return False
    subdirs = entry.get("subdirs")
    if subdirs:  # a file added inside a subfolder
        for name, sig in subdirs.items():
            if not _same(prefix + name, sig):
                return False
    extra = entry.get("extra")
    if extra:  # code_paths outside the folder
        for path, sig in extra.items():
            if not _same(path, sig):
                return False
    return True


def _save(path: Path, data: dict[str, Any]) -> None:
    """Write the index whole: a temp file of its own per writer (processes and threads), then an atomic
    replace; the last writer wins and a reader sees one complete index or the other."""
    import tempfile  # only when the index is written: not on a warm start

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
