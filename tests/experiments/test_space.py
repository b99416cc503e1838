"""The explore syntax: lists, ranges, progressions, and bad input naming the key."""

from __future__ import annotations

import pytest

from cmx.errors import UsageError
from experiments.space import parse_space, parse_values


@pytest.mark.parametrize("raw, expected", [
    ("ann,bob,cid", ("ann", "bob", "cid")),
    (["a", "b"], ("a", "b")),
    ("1:9:2", ("1", "3", "5", "7", "9")),
    ("1:10:4", ("1", "5", "9")),
    ("1:4", ("1", "2", "3", "4")),
    ("5:1:-2", ("5", "3", "1")),
    ("1:64:*2", ("1", "2", "4", "8", "16", "32", "64")),
    ("0.5:1.5:0.5", ("0.5", "1", "1.5")),
    ("1,2,4,...,64", ("1", "2", "4", "8", "16", "32", "64")),
    ("1,2,4,...,100", ("1", "2", "4", "8", "16", "32", "64")),
    ("10,20,30,...,60", ("10", "20", "30", "40", "50", "60")),
    ("1,3,9,...,81", ("1", "3", "9", "27", "81")),
])
def test_values(raw, expected):
    assert parse_values("k", raw) == expected


@pytest.mark.parametrize("raw, words", [
    ("", "no values"),
    (True, "no values"),
    ("a,,b", "empty value"),
    ("a,a", "twice"),
    ("5:1", "range is empty"),
    ("1:5:0", "cannot be 0"),
    ("1:64:*1", "factor > 1"),
    ("1,2,...,8", "three terms"),
    ("1,2,5,...,64", "neither arithmetic nor geometric"),
    ("a,b,c,...,z", "needs numbers"),
])
def test_bad_values_name_the_key(raw, words):
    with pytest.raises(UsageError) as e:
        parse_values("concurrency", raw)
    assert "--explore.concurrency" in str(e.value) and words in str(e.value)


def test_variation_values_must_be_variations():
    assert parse_values("variation", "_a,_b+_c") == ("_a", "_b+_c")
    with pytest.raises(UsageError, match="--explore.variation: 'json' is not a variation"):
        parse_values("variation", "_text,json")


def test_product_order_and_kinds():
    space = parse_space({"name": "a,b", "variation": {"fmt": "_x,_y"}, "env": {"N": "1:3"}})
    assert space.size == 12
    assert [d.kind for d in space.dimensions] == ["input", "variation", "env"]
    assert [d.target for d in space.dimensions] == ["name", "fmt", "N"]
    first = next(space.points())
    assert first.as_dict() == {"name": "a", "variation.fmt": "_x", "env.N": "1"}
    with pytest.raises(UsageError, match="at least one --explore"):
        parse_space({})
    with pytest.raises(UsageError, match="only 'variation' and 'env'"):
        parse_space({"name": {"x": "1"}})
