"""Read one recipe meta file (meta.yaml, _cm.yaml or _cm.json) with line numbers
and validate it against the schema. Imported only when the index is rebuilt, so
the cached fast path never pays for YAML or jsonschema.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cmx.errors import Location, RecipeDefinitionError
from cmx.meta import schema

META_FILES = ("meta.yaml", "_cm.yaml", "_cm.json")
NOTES_KEY = "_cmx_notes"  # what a CM/MLC meta had that cmx read loosely or ignored (never a schema key)

# What a meta may be (docs/recipe-format.md#limits): a repository is untrusted input, and every
# command reads the index built from it. Checked on the parser's event stream, before anything
# recursive (composing, the duplicate-key walk, the schema, marshal) sees the document.
MAX_META_BYTES = 1 << 20  # the largest meta of MLCommons' repositories is ~66 KB
MAX_META_DEPTH = 64  # nested mappings and lists (theirs: 9)
MAX_META_NODES = 100_000  # values after expanding YAML aliases (theirs: ~6,000)

try:  # the C loader is several times faster when libyaml is present
    _Loader: type = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class LoadedMeta:
    path: Path
    data: dict[str, Any]
    # "deps/0" or "variations/cuda/deps/1" -> 1-based line number
    lines: dict[str, int]
    # what was read loosely or ignored in a CM/MLC repository's meta (cmx.compat.meta)
    notes: tuple[str, ...] = ()


def _path_key(path: tuple[Any, ...]) -> str:
    return "/".join(str(p) for p in path)


def _walk_lines(node: yaml.Node, prefix: str, out: dict[str, int], depth: int = 0) -> None:
    """``out[path] = line`` for the keys and items down to 7 levels ("deps/0/tags"); ``prefix``: the
    path of ``node`` ("" at the top)."""
    if depth > 6:
        return
    lead = prefix + "/" if prefix else ""
    if node.__class__ is yaml.MappingNode or isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = lead + str(key_node.value)
            out[sub] = key_node.start_mark.line + 1
            if value_node.__class__ is not yaml.ScalarNode:
                _walk_lines(value_node, sub, out, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = lead + str(i)
            out[sub] = item.start_mark.line + 1
            if item.__class__ is not yaml.ScalarNode:
                _walk_lines(item, sub, out, depth + 1)


_SCALAR, _START, _END, _ALIAS = 1, 2, 3, 4
_EVENT_KIND = {yaml.ScalarEvent: _SCALAR, yaml.MappingStartEvent: _START, yaml.SequenceStartEvent: _START,
               yaml.MappingEndEvent: _END, yaml.SequenceEndEvent: _END, yaml.AliasEvent: _ALIAS}


def _check_limits(text: str, path: Path) -> None:
    """Refuse a document deeper than MAX_META_DEPTH or larger than MAX_META_NODES once its aliases are
    expanded (a "billion laughs" alias bomb), in one linear pass over the parser's events."""
    depth = 0
    size = 0
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, depth below it)
    frames: list[list[Any]] = []  # per open collection: [anchor, size before it, its depth, deepest inside]
    parser = _Loader(text)
    kinds = _EVENT_KIND
    try:
        while True:
            event = parser.get_event()
            kind = kinds.get(type(event))
            if kind is None:
                if event is None or type(event) is yaml.StreamEndEvent:
                    return
                continue
            if kind == _SCALAR:
                size += 1
                if event.anchor:
                    anchors[event.anchor] = (1, 0)
            elif kind == _START:
                depth += 1
                size += 1
                if depth > MAX_META_DEPTH:
                    raise RecipeDefinitionError(Location(path, event.start_mark.line + 1),
                                                f"nested more than {MAX_META_DEPTH} levels deep")
                frames.append([event.anchor, size - 1, depth, depth])
            elif kind == _END:
                anchor, before, level, deepest = frames.pop()
                if anchor:
                    anchors[anchor] = (size - before, deepest - level + 1)
                depth -= 1
                if frames and deepest > frames[-1][3]:
                    frames[-1][3] = deepest
                continue
            else:  # an alias: counted as the values it stands for
                grown, below = anchors.get(event.anchor, (1, 0))
                size += grown
                if depth + below > MAX_META_DEPTH:
                    raise RecipeDefinitionError(Location(path, event.start_mark.line + 1),
                                                f"nested more than {MAX_META_DEPTH} levels deep once "
                                                f"alias *{event.anchor} is expanded")
                if frames and depth + below > frames[-1][3]:
                    frames[-1][3] = depth + below
            if size > MAX_META_NODES:
                raise RecipeDefinitionError(
                    Location(path, event.start_mark.line + 1),
                    f"more than {MAX_META_NODES:,} values" + (" once YAML aliases are expanded" if anchors else ""),
                    hint="a meta this large is refused (docs/recipe-format.md#limits)")
    finally:
        parser.dispose()


def _check_duplicate_keys(node: yaml.Node, path: Path, seen_nodes: set[int] | None = None,
                          notes: list[str] | None = None) -> None:
    """A key given twice in one mapping is an error naming both lines; with ``notes`` (a CM/MLC meta,
    which cm and mlc read with the last value winning, as YAML and JSON loaders do) a note instead."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias: the node it points at was checked already
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                if notes is None:
                    raise RecipeDefinitionError(
                        Location(path, line), f"duplicate key '{key}' (first defined on line {seen[key]})"
                    )
                notes.append(f"line {line}: duplicate key '{key}' (first defined on line {seen[key]}): "
                             "the last one is read, as cm and mlc read it")
            seen[key] = line
            _check_duplicate_keys(value_node, path, seen_nodes, notes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, path, seen_nodes, notes)


def parse_meta(path: Path, foreign: bool = False) -> LoadedMeta:
    """Parse and validate one meta file, or raise RecipeDefinitionError naming file:line. ``foreign``:
    a recipe of a CM/MLC repository, read with their loose typing (cmx.compat.meta) first."""
    text = read_meta_text(path)
    try:
        _check_limits(text, path)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise RecipeDefinitionError(Location(path, line), f"invalid {'JSON' if path.suffix == '.json' else 'YAML'}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise RecipeDefinitionError(Location(path), f"invalid YAML: {exc}") from exc
    if node is None:
        raise RecipeDefinitionError(Location(path, 1), "meta file is empty")
    if not isinstance(node, yaml.MappingNode):
        raise RecipeDefinitionError(Location(path, node.start_mark.line + 1), "meta must be a mapping of keys to values")
    notes: list[str] = []
    _check_duplicate_keys(node, path, notes=notes if foreign else None)
    constructor = _Loader("")  # builds the data from the node composed above: the text is parsed once more, not twice
    try:
        data = constructor.construct_document(node)
    finally:
        constructor.dispose()
    lines: dict[str, int] = {}
    _walk_lines(node, "", lines)
    if foreign:
        from cmx.compat.meta import normalize

        data, notes = normalize(data, schema.SCHEMA, lines, notes=notes)
    validate(path, data, lines)
    _check_tags(path, data, lines, notes if foreign else None)
    if notes:  # kept with the recipe, shown by `cmx show script`
        data[NOTES_KEY] = notes
    return LoadedMeta(path=path, data=data, lines=lines, notes=tuple(notes))


def _check_tags(path: Path, data: dict[str, Any], lines: dict[str, int], notes: list[str] | None = None) -> None:
    """Every tag must be one a selector can name (cmx.selector.is_tag), or no one could select it.
    With ``notes`` (a CM/MLC meta: cm takes any string as a tag, such as cm4mlops' ``hello world``)
    such a tag is left out of the recipe's tags with a note; its other tags and alias still select it."""
    from cmx.selector import is_tag, nfc

    tags = data.get("tags")
    items = [(i, t) for i, t in enumerate(tags)] if isinstance(tags, list) else \
        [(None, t) for t in str(tags or "").replace(" ", ",").split(",") if t]
    unnamed: list[str] = []
    for i, tag in items:
        if not is_tag(nfc(str(tag))):
            line = lines.get(f"tags/{i}") or lines.get("tags") if i is not None else lines.get("tags")
            if notes is None:
                raise RecipeDefinitionError(
                    Location(path, line), f"tag {str(tag)!r} cannot be selected",
                    hint="a tag is letters (of any script), digits and _.+-, starting with a letter or digit")
            unnamed.append(str(tag))
            notes.append(f"line {line}: tag {str(tag)!r} cannot be named in a selector (cmx splits selectors on "
                         "spaces and commas); left out of the recipe's tags, its other tags select it")
    if unnamed:
        keep = [t for t in (tags if isinstance(tags, list) else str(tags).replace(" ", ",").split(",")) if t and str(t) not in unnamed]
        data["tags"] = keep


def read_meta_text(path: Path) -> str:
    """The text of a meta file, or RecipeDefinitionError: too large, unreadable, or not UTF-8 (with
    the line and byte offset of the first bad byte)."""
    try:
        with open(path, "rb") as fh:  # never more than the limit, whatever the file claims or turns out to be
            raw = fh.read(min(os.fstat(fh.fileno()).st_size, MAX_META_BYTES) + 1)
    except OSError as exc:
        raise RecipeDefinitionError(Location(path), f"cannot read meta file: {exc.strerror or exc}") from exc
    if len(raw) > MAX_META_BYTES:
        raise RecipeDefinitionError(Location(path), f"meta file is larger than {MAX_META_BYTES // 1024} KiB",
                                    hint="a meta this large is refused (docs/recipe-format.md#limits)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecipeDefinitionError(
            Location(path, line),
            f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {column} (byte offset {exc.start})",
            hint="metas are UTF-8 text; re-save the file as UTF-8") from exc


def _line_for(lines: dict[str, int], path: tuple[Any, ...]) -> int | None:
    p = list(path)
    while p:
        found = lines.get(_path_key(tuple(p)))
        if found:
            return found
        p.pop()
    return 1


_validator = None
_fast: Any = None


def _fast_check() -> Any:
    global _fast
    if _fast is None:
        from cmx.meta.fastcheck import compile_schema

        _fast = compile_schema(schema.SCHEMA) or (lambda data: False)
    return _fast


def _get_validator() -> Any:
    global _validator
    if _validator is None:
        import jsonschema

        _validator = jsonschema.Draft7Validator(schema.SCHEMA)
    return _validator


def validate(path: Path, data: Any, lines: dict[str, int]) -> None:
    """Validate against the schema; report the first error (by line) with a hint."""
    if _fast_check()(data):  # the verdict of jsonschema, faster (cmx/meta/fastcheck.py); it names errors
        return
    errors = list(_get_validator().iter_errors(data))
    if not errors:
        return
    located = []
    for err in errors:
        loc_path = tuple(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            instance = err.instance if isinstance(err.instance, dict) else {}
            for extra in sorted(k for k in instance if k not in allowed):
                full = loc_path + (extra,)
                close = difflib.get_close_matches(extra, schema.valid_keys_at(loc_path) or sorted(allowed), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else None
                where = "/".join(str(p) for p in loc_path) or "top level"
                located.append((_line_for(lines, full) or 0, f"unknown key '{extra}' at {where}", hint))
        else:
            where = "/".join(str(p) for p in loc_path) or "top level"
            located.append((_line_for(lines, loc_path) or 0, f"{where}: {_short(err)}", None))
    located.sort(key=lambda t: t[0])
    line, message, hint = located[0]
    more = f" (and {len(located) - 1} more problem(s))" if len(located) > 1 else ""
    raise RecipeDefinitionError(Location(path, line or None), message + more, hint=hint)


def _short(err: Any) -> str:
    if err.validator == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {type(err.instance).__name__} {err.instance!r:.40}"
    if err.validator == "required":
        return str(err.message)
    return str(err.message)[:200]


def find_meta_file(recipe_dir: Path) -> Path | None:
    for name in META_FILES:
        candidate = recipe_dir / name
        if candidate.is_file():
            return candidate
    return None
