"""No tracked file names a path that exists on one machine only.

Shared data is ``../shared`` relative to the checkout, temp folders come from ``tempfile``, and
external checkouts (mlcommons/inference, cm4mlops) from an environment variable. Captured tool
output kept as test data (``tests/**/data/``) is exempt: it is what a real tool printed.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT

# home folders and work areas of one machine, and fixed folders under /tmp
MACHINE_ROOTS = ("work", "root", "home", "Users", "workspace", "scratch")
PATTERN = re.compile(r"(?<![\w.~…-])/(?:%s)/[\w.+-]|/tmp/cmx-[a-z]" % "|".join(MACHINE_ROOTS))


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    this = "tests/scenarios/test_portable_paths.py"  # its examples below are bad on purpose
    return [p for p in out.decode().split("\0") if p and p != this and not re.match(r"tests/(.+/)?data/", p)]


def offending_lines(checkout_path: str) -> list[str]:
    found = []
    for rel in _tracked():
        path = ROOT / rel
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary or gone
        for n, line in enumerate(text.splitlines(), 1):
            if PATTERN.search(line) or checkout_path in line:
                found.append(f"{rel}:{n}: {line.strip()[:120]}")
    return found


def test_no_machine_specific_paths_in_tracked_files():
    found = offending_lines(str(ROOT))
    assert not found, "absolute paths of one machine (use ../shared, tempfile or an env var):\n" + "\n".join(found)


@pytest.mark.parametrize("line, bad", [
    ('SAMPLES = Path("/work/shared/data")', True),
    ("--inference_repo=/work/.mirror/mlcommons+inference/repo", True),
    ("default=Path('/tmp/cmx-bench-cm')", True),
    ("/root/src/x", True),
    ("tempfile.mkdtemp(prefix='cmx-bench-')", False),
    ("/…/cmx/scripts/detect-os", False),
    ("~/work/x and https://example.org/home/page", False),
    ("/usr/bin/python3", False),
])
def test_the_pattern(line, bad):
    assert bool(PATTERN.search(line)) is bad
