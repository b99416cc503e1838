"""Accelerator prices (USD per accelerator-hour) and cost per million generated tokens.

The defaults are ``flexboard/data/prices.csv``: one row per accelerator of ``accelerators.csv``,
each known price with the public page it was taken from and its date. Unknown prices are empty,
never guessed; the board's cost page and the recommender take an edited table instead.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from flexboard.errors import FlexBoardError

DATA = Path(__file__).resolve().parent / "data" / "prices.csv"
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Price:
    key: str                      # the accelerator's key in accelerators.csv
    usd_per_hour: float | None    # per accelerator; None = unknown
    source: str = ""
    date: str = ""
    notes: str = ""


@lru_cache(maxsize=1)
def defaults() -> tuple[Price, ...]:
    out = []
    with DATA.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            raw = (r["usd_per_hour"] or "").strip()
            out.append(Price(r["key"], float(raw) if raw else None, r["source"], r["date"], r["notes"]))
    return tuple(out)


def default_map() -> dict[str, float | None]:
    return {p.key: p.usd_per_hour for p in defaults()}


def check(prices: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, float | None]:
    """An edited price table -> {accelerator key: USD per hour or None}. A value that is not a
    number, negative or infinite is a ``FlexBoardError`` naming the accelerator; empty is unknown."""
    items = prices.items() if isinstance(prices, Mapping) else prices
    out: dict[str, float | None] = {}
    bad: list[str] = []
    for key, raw in items:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            out[str(key)] = None
            continue
        try:
            v = float(raw)
        except (TypeError, ValueError):
            bad.append(f"{key}: {raw!r} is not a number")
            continue
        if math.isnan(v):
            out[str(key)] = None
        elif not math.isfinite(v) or v < 0:
            bad.append(f"{key}: {raw} (a price must be a finite number of USD per hour, at least 0)")
        else:
            out[str(key)] = v
    if bad:
        raise FlexBoardError("bad price" + ("s" if len(bad) > 1 else "") + ": " + "; ".join(bad))
    return out


def cost_per_million_tokens(tokens_per_s_per_accelerator: float | None, usd_per_hour: float | None) -> float | None:
    """USD per million generated tokens for one accelerator running at that rate; None when unknown."""
    if usd_per_hour is None or tokens_per_s_per_accelerator is None:
        return None
    tps = float(tokens_per_s_per_accelerator)
    if not math.isfinite(tps) or tps <= 0:
        return None
    return usd_per_hour / (tps * SECONDS_PER_HOUR) * 1e6


def load(path: str | Path | None = None) -> dict[str, float | None]:
    """The default prices with the rows of the CSV at ``path`` (columns ``key`` (or
    ``accelerator``: a key or a name ``accelerators.csv`` knows) and ``usd_per_hour``) replacing
    the defaults they name. A bad row is a ``FlexBoardError`` naming ``file:line``."""
    from flexboard import accelerators

    out = default_map()
    if not path:
        return out
    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise FlexBoardError(f"--prices={path}: no such file")
    try:
        with p.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            cols = set(reader.fieldnames or ())
            name_col = "key" if "key" in cols else "accelerator"
            if name_col not in cols or "usd_per_hour" not in cols:
                raise FlexBoardError(f"{p}:1: expected the columns key,usd_per_hour (as flexboard/data/prices.csv)")
            for r in reader:
                line = reader.line_num
                if None in r or any(v is None for v in r.values()):
                    raise FlexBoardError(f"{p}:{line}: {len(reader.fieldnames or ())} fields expected, as the header")
                name = (r.get(name_col) or "").strip()
                acc = accelerators.by_key(name) or accelerators.lookup(name)
                if acc is None:
                    known = ", ".join(a.key for _p, a in accelerators.table())
                    raise FlexBoardError(f"{p}:{line}: accelerator {name!r} is not in flexboard/data/accelerators.csv "
                                         f"(known: {known})")
                try:
                    out.update(check({acc.key: r.get("usd_per_hour")}))
                except FlexBoardError as exc:
                    raise FlexBoardError(f"{p}:{line}: {exc}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FlexBoardError(f"--prices={path}: not a readable CSV file ({exc})") from exc
    return out
