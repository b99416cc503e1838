"""Parse CM tag selectors (``detect,os,_var,_name.value,-_x,-tag``) into a frozen value."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cmx.errors import SelectorSyntaxError

_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")
_VAR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-+]*(?:\.[A-Za-z0-9_\-+]*)*$")
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

    def canonical(self) -> str:
        parts = sorted(self.tags) + [f"-{t}" for t in sorted(self.not_tags)]
        parts += [f"_{v}" for v in sorted(self.variations)] + [f"-_{v}" for v in sorted(self.not_variations)]
        return ",".join(parts)

    def with_variations(self, extra: tuple[str, ...]) -> "Selector":
        merged = self.variations + tuple(v for v in extra if v not in self.variations)
        return Selector(self.tags, self.not_tags, merged, self.not_variations, self.text)


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
    tags: list[str] = []
    not_tags: list[str] = []
    variations: list[str] = []
    not_variations: list[str] = []
    stripped = text.strip()
    if _PLAIN_RE.fullmatch(stripped):  # what the loop below would produce, without its per-token checks
        for token in stripped.split(","):
            if token[0] == "_":
                variations.append(token[1:])
            else:
                tags.append(token)
        return Selector(tuple(tags), (), tuple(variations), (), stripped)
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
                ok = bool(head) and _VAR_RE.match(head) is not None and value != ""
            else:
                ok = _VAR_RE.match(name) is not None
            if not ok:
                raise SelectorSyntaxError(stripped, start, len(token), f"bad variation '{token}'")
            (not_variations if negate else variations).append(name)
        else:
            if not _TAG_RE.match(body):
                raise SelectorSyntaxError(stripped, start, len(token), f"bad tag '{token}'")
            (not_tags if negate else tags).append(body)
    return Selector(tuple(tags), tuple(not_tags), tuple(variations), tuple(not_variations), stripped)
