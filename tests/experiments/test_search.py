"""The search for the largest sustainable value: doubling, then bisection, then points below."""

import pytest

from cmx.errors import UsageError
from experiments.search import SearchSpec, below, find_max, parse_search


def test_doubling_then_bisection_finds_the_threshold():
    probed = []

    def probe(x):  # a system that sustains up to 300 (the verdict of a run, here a rule)
        probed.append(x)
        return x <= 300

    assert find_max(SearchSpec("target_qps", 10, 1000, 6, 4), probe) == pytest.approx(297, abs=5)
    assert probed[:7] == [10, 20, 40, 80, 160, 320, 240]
    assert find_max(SearchSpec("q", 10, 50, 6, 4), lambda x: True) == 50  # never invalid: the upper end
    assert find_max(SearchSpec("q", 10, 50, 6, 4), lambda x: False) is None


def test_points_below_and_bad_specs():
    assert below(300, 4) == [75, 150, 225, 300]
    assert parse_search({"target_qps": "1:100"}, 6, 4) == SearchSpec("target_qps", 1, 100, 6, 4)
    for raw in ({"target_qps": "100:1"}, {"a": "1:2", "b": "1:2"}, {"target_qps": "x"}, True):
        with pytest.raises(UsageError):
            parse_search(raw, 6, 4)
