"""The user guide's and the recipe format's example commands run as documented.

Every ``$ cmx run|explain|find|show|test script …`` line of docs/user-guide.md and
docs/recipe-format.md is run, in document order, in one scratch home where the checkout's
``examples/`` repository is registered (as the guide tells its reader to do). A command whose
documented output starts with ``cmx: error:`` must fail with that first line (paths of the
examples repository and temp folders normalized); any other must exit 0.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cmx

DOCS = ("docs/user-guide.md", "docs/recipe-format.md")
ACTIONS = {"run", "explain", "find", "show", "test"}
# not run here: they need a terminal signal, a pipe, a file written earlier by hand, or another repository
SKIP = ("Ctrl-C", "|", "@", "mlperf:")


def _commands(doc: str) -> list[tuple[str, list[str], str | None]]:
    """(where, argv, expected first error line or None) for each runnable example."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    out = []
    for n, line in enumerate(lines):
        m = re.match(r"^\s*\$ cmx (.*)$", line)
        if not m or any(s in line for s in SKIP):
            continue
        text = m.group(1).split("  #")[0].strip()
        argv = shlex.split(text)
        if len(argv) < 2 or argv[0] not in ACTIONS or argv[1] != "script":
            continue
        error = None
        for after in lines[n + 1:]:  # its output: up to the next command or the end of the block
            if after.strip().startswith(("$ ", "```")):
                break
            if after.startswith("cmx: error:"):
                error = after.strip()
                break
        out.append((f"{doc}:{n + 1}", argv, error))
    return out


def _normal(text: str) -> str:
    text = re.sub(r"\S*/examples/", "EXAMPLES/", text)
    return re.sub(r"/tmp/\S+", "TMP", text).strip()


CASES = [c for doc in DOCS for c in _commands(doc)]


def test_the_docs_have_examples_to_check():
    assert len(CASES) >= 20
    assert any("--tags=condskip" in a for _, argv, _ in CASES for a in argv)


@pytest.fixture(scope="module")
def guide_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("guide-home")
    res = run_cmx("add", "repo", str(ROOT / "examples"), home=home)
    assert res.code == 0, res.err
    return home


@pytest.mark.parametrize("where, argv, error", CASES, ids=[c[0] for c in CASES])
def test_documented_command(guide_home, where, argv, error):
    res = run_cmx(*argv, home=guide_home, cwd=guide_home, timeout=300)
    if error is None:
        assert res.code == 0, f"{where}: cmx {' '.join(argv)}\n{res.err[-2000:]}"
    else:
        assert res.code != 0, f"{where}: cmx {' '.join(argv)} succeeded; the docs show an error"
        first = next((x for x in res.err.splitlines() if x.startswith("cmx: error:")), res.err)
        assert _normal(first) == _normal(error), f"{where}: cmx {' '.join(argv)}"
