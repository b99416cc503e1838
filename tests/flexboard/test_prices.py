"""The price table: defaults with sources, checks of edited prices, cost per million tokens."""

from __future__ import annotations

import math

import pytest

from flexboard import accelerators, prices
from flexboard.errors import FlexBoardError


def test_every_accelerator_has_a_row_and_every_known_price_a_source():
    keys = {a.key for _p, a in accelerators.table()}
    rows = prices.defaults()
    assert {p.key for p in rows} == keys
    for p in rows:
        if p.usd_per_hour is not None:
            assert p.usd_per_hour > 0 and p.source.startswith("https://") and p.date, p


def test_check_takes_numbers_and_empties_and_names_each_bad_price():
    assert prices.check({"a": "2.5", "b": "", "c": None, "d": 0, "e": float("nan")}) == \
        {"a": 2.5, "b": None, "c": None, "d": 0.0, "e": None}
    with pytest.raises(FlexBoardError) as e:
        prices.check([("h100-sxm-80gb", "-5"), ("l40s", "abc"), ("b200-sxm-180gb", "inf")])
    msg = str(e.value)
    assert "h100-sxm-80gb: -5" in msg and "l40s: 'abc' is not a number" in msg and "b200-sxm-180gb: inf" in msg


def test_cost_per_million_tokens():
    # 3.6 USD/hour at 1000 tokens/s: 3.6 M tokens per hour, so 1 USD per million
    assert math.isclose(prices.cost_per_million_tokens(1000.0, 3.6), 1.0)
    assert prices.cost_per_million_tokens(1000.0, None) is None
    assert prices.cost_per_million_tokens(0.0, 3.6) is None
    assert prices.cost_per_million_tokens(None, 3.6) is None
