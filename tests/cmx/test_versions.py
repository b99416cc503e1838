import pytest

from cmx.versions import VersionRequest, compare


@pytest.mark.parametrize("a,b,expected", [
    ("3.10", "3.9", 1), ("3.10", "3.10.0", 0), ("2.13.0", "2.13.0+cpu", 0), ("1.0rc1", "1.0", -1),
    ("r5.0", "r5.1", -1), ("master", "master", 0),
])
def test_compare(a, b, expected):
    assert compare(a, b) == expected


def test_request_intersects_ranges_and_keeps_sources():
    r = VersionRequest().merged(minimum="3.8", source="A").merged(minimum="3.10", maximum="3.12", source="B")
    assert r.minimum[0] == "3.10" and r.minimum[1].source == "B"
    assert r.admits("3.11") and not r.admits("3.9") and not r.admits("3.13")
    assert {c.source for c in r.causes()} == {"B"}


def test_exact_override_only_when_asked():
    r = VersionRequest().merged(exact="1", source="dep").merged(exact="2", source="adr")
    assert r.exact[0] == "1"
    r = r.merged(exact="2", source="adr", override_exact=True)
    assert r.exact[0] == "2"
