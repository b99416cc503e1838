"""Hashing: canonical JSON, sha256."""

from __future__ import annotations

import hashlib
import json
from json import encoder as _json_encoder
from typing import Any, Callable


def _canonical_encoder() -> Callable[[Any], str] | None:
    """json's C encoder, built once with the settings of ``canonical``.

    ``json.dumps`` builds a new encoder on every call, a third of the cost of
    a small cache key; the output is the same bytes (checked here and by the
    tests). None when this Python's json has no C encoder (or another signature).
    """
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        enc = make(None, str, _json_encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
    except TypeError:
        return None

    def encode(obj: Any) -> str:
        return "".join(enc(obj, 0))

    sample = {"b": [1, 2.5, None, True, "é\n"], "a": {"z": {}, "y": []}, "c": ("t",)}
    if encode(sample) != json.dumps(sample, sort_keys=True, separators=(",", ":"), default=str):
        return None
    return encode


_ENCODE = _canonical_encoder()
# the encoder of ``canonical`` (None without json's C encoder), and how it writes a string: any value it
# writes inside a document is written the same on its own, so canonical text can be put together from
# pieces (cmx.plan.node writes a cache key's material so)
ENCODE = _ENCODE
quote: Callable[[str], str] = _json_encoder.encode_basestring_ascii


def canonical(obj: Any) -> str:
    if _ENCODE is not None and (type(obj) is dict or type(obj) is list):
        return _ENCODE(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def digest_text(text: str) -> str:
    """``digest`` of a value whose canonical text is ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()
