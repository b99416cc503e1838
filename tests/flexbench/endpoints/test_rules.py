"""The Endpoints rules the export relies on: region boundaries (§5.5)."""

import pytest

from flexbench.endpoints.rules import regions


def test_regions_of_the_rules_examples():
    r = regions(64, 1)
    assert (r.low_latency, r.low_concurrency, r.med_concurrency, r.high_concurrency, r.margin) == \
        ((1, 1), (2, 5), (6, 17), (18, 64), (65, 71))
    assert regions(1024, 16).low_concurrency == (17, 26)
    assert [r.region_of(c) for c in (1, 4, 8, 32, 64, 70, 99)] == [
        "low_latency", "low_concurrency", "med_concurrency", "high_concurrency", "high_concurrency", "margin",
        "submitters_choice"]


def test_the_highest_concurrency_must_be_above_32():
    with pytest.raises(ValueError, match="above 32"):
        regions(32, 1)
