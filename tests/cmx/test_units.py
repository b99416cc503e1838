"""cmx.units: the sizes and numbers of the download recipes' limits."""

import pytest

from cmx.units import human_size, parse_number, parse_size


def test_sizes_in_powers_of_1024():
    assert parse_size("1000") == 1000
    assert parse_size("64k") == parse_size("64KiB") == parse_size(" 64 kb ") == 65536
    assert parse_size("1.5G") == 3 << 29
    with pytest.raises(ValueError, match=r"--max_size=lots: expected a size in bytes"):
        parse_size("lots", "--max_size")
    with pytest.raises(ValueError):
        parse_size("-1M")


def test_numbers_whole_positive_or_not():
    assert parse_number("2.5") == 2.5 and parse_number("0") == 0
    assert parse_number("7", integer=True) == 7
    with pytest.raises(ValueError, match=r"--max_members=0: expected a positive whole number"):
        parse_number("0", "--max_members", integer=True, positive=True)
    with pytest.raises(ValueError, match=r"--deadline=-3: expected a non-negative number"):
        parse_number("-3", "--deadline")
    with pytest.raises(ValueError):
        parse_number("1.5", integer=True)


def test_human_sizes():
    assert [human_size(n) for n in (512, 1536, 3 << 30)] == ["512 B", "1.5 KiB", "3.0 GiB"]
