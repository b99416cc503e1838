"""Parse CM tag selectors (``detect,os,_var,_name.value,-_x,-tag``, optionally ``REPO:detect,os``)
into a frozen value.

Tags and variation names are ASCII letters and digits, ``_.+-``, and any non-ASCII letter, digit
or combining mark (``détecter``, ``検出``), starting with a letter or digit; both sides are compared
in Unicode NFC, so a tag typed in another normal form still matches. A meta's tags must follow the
same grammar (checked by the loader, see ``is_tag``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cmx.errors import SelectorSyntaxError

_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")
_VAR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-+]*(?:\.[A-Za-z0-9_\-+]*)*$")
# CM's repo_alias:... qualifier: the recipe must come from that repository
_REPO_RE = re.compile(r"^([A-Za-z0-9][\w.\-@]*):")  # CM aliases: mlcommons@cm4mlops
# the common shape, valid by construction: plain tags and variations without a '.' value, no exclusions,
# no spaces, comma-separated (checked against the general loop on random input when this was written)
_PLAIN_TOKEN = r"(?:[A-Za-z0-9][A-Za-z0-9_.+\-]*|_[A-Za-z0-9][A-Za-z0-9_+\-]*)"
_PLAIN_RE = re.compile(rf"{_PLAIN_TOKEN}(?:,{_PLAIN_TOKEN})*")


@dataclass(frozen=True)
class Selector:
    """What a user or a dependency asked for, before any recipe is chosen."""

    tags: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    variations: tuple[str, ...] = ()  # "cuda", "batch_size.8", in the order given
    not_variations: tuple[str, ...] = ()
    text: str = ""
    repo: str = ""  # "" for any repository, in precedence order (see cmx.index)

    def canonical(self) -> str:
        parts = sorted(self.tags) + [f"-{t}" for t in sorted(self.not_tags)]
        parts += [f"_{v}" for v in sorted(self.variations)] + [f"-_{v}" for v in sorted(self.not_variations)]
        return (f"{self.repo}:" if self.repo else "") + ",".join(parts)

    def with_variations(self, extra: tuple[str, ...]) -> "Selector":
        merged = self.variations + tuple(v for v in extra if v not in self.variations)
        return Selector(self.tags, self.not_tags, merged, self.not_variations, self.text, self.repo)


def _plain(tags: tuple[str, ...], variations: tuple[str, ...], text: str) -> Selector:
    """``Selector(tags, (), variations, (), text)`` without the frozen dataclass's ``__init__``, a third of
    the cost of parsing a plain selector (a large plan parses one per dependency entry, 30k)."""
    sel = object.__new__(Selector)
    sel.__dict__.update(tags=tags, not_tags=(), variations=variations, not_variations=(), text=text, repo="")
    return sel


def _wide(text: str, pattern: "re.Pattern[str]") -> bool:
    """``pattern`` (ASCII) with every non-ASCII letter, digit or mark standing in for a letter."""
    if text.isascii():
        return pattern.match(text) is not None
    plain = "".join(c if c.isascii() else ("a" if unicodedata.category(c)[0] in "LNM" else "\0") for c in text)
    return pattern.match(plain) is not None


def is_tag(text: str) -> bool:
    """Can a selector name this tag (in NFC)?"""
    return _wide(text, _TAG_RE)


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C (tags are compared in it); ASCII is returned as is."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def split_repo(text: str) -> tuple[str, str]:
    """("mlperf", "detect-os") for "mlperf:detect-os"; ("", text) without a qualifier."""
    m = _REPO_RE.match(text)
    return (m.group(1), text[m.end():]) if m else ("", text)


def _split(text: str) -> list[tuple[int, str]]:
    """Split on commas and whitespace, keeping each token's offset."""
    out: list[tuple[int, str]] = []
    for match in re.finditer(r"[^,\s]+", text):
        out.append((match.start(), match.group(0)))
    return out


_parsed: dict[str, Selector] = {}


def parse(text: str | list[str] | tuple[str, ...]) -> Selector:
    if not isinstance(text, str):
        text = ",".join(str(t) for t in text)
    known = _parsed.get(text)
    if known is not None:
        return known
    sel = _parse(text)
    if len(_parsed) < 100_000:
        _parsed[text] = sel
    return sel


def _parse(text: str) -> Selector:
    if ":" in text:  # (a repository qualifier has one)
        repo, rest = split_repo(text.strip())
        if repo:
            sel = _parse_tags(nfc(rest))
            return Selector(sel.tags, sel.not_tags, sel.variations, sel.not_variations, text.strip(), repo)
    return _parse_tags(text if text.isascii() else nfc(text))


def _parse_tags(text: str) -> Selector:
    stripped = text.strip()
    if not stripped:
        return Selector(text="")
    tags: list[str] = []
    variations: list[str] = []
    if _PLAIN_RE.fullmatch(stripped):  # what the loop below would produce, without its per-token checks
        if stripped[0] != "_" and ",_" not in stripped:  # tags only
            return _plain(tuple(stripped.split(",")), (), stripped)
        for token in stripped.split(","):
            if token[0] == "_":
                variations.append(token[1:])
            else:
                tags.append(token)
        return _plain(tuple(tags), tuple(variations), stripped)
    not_tags: list[str] = []
    not_variations: list[str] = []
    if re.search(r",\s*,", stripped) or stripped.startswith(",") or stripped.endswith(","):
        m = re.search(r",\s*,|^,|,$", stripped)
        start = m.start() if m else 0
        raise SelectorSyntaxError(stripped, start, max(1, (m.end() - start) if m else 1), "empty tag in selector")
    for start, token in _split(stripped):
        negate = token.startswith("-")
        body = token[1:] if negate else token
        if body.startswith("_-"):  # CM also accepts "_-x" for "-_x"
            negate, body = True, "_" + body[2:]
        if body.startswith("_"):
            name = body[1:]
            if "." in name:
                head, _, value = name.partition(".")
                ok = bool(head) and _wide(head, _VAR_RE) and value != ""
            else:
                ok = _wide(name, _VAR_RE)
            if not ok:
                raise SelectorSyntaxError(stripped, start, len(token), f"bad variation '{token}'")
            (not_variations if negate else variations).append(name)
        else:
            if not is_tag(body):
                raise SelectorSyntaxError(stripped, start, len(token), f"bad tag '{token}'")
            (not_tags if negate else tags).append(body)
    return Selector(tuple(tags), tuple(not_tags), tuple(variations), tuple(not_variations), stripped)
