"""A corpus of broken recipes: each must give exit 2, a message naming the file
and line, no traceback, and no cache entry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cmx, store_entries

CORPUS = Path(__file__).parent / "broken"

# case -> (how to select it, regex the message must match, the file:line it must name)
CASES = {
    "bad-yaml": ("r", r"invalid YAML", "r/meta.yaml:5"),
    "wrong-type": ("r", r"cache: expected boolean", "r/meta.yaml:3"),
    "unknown-key": ("r", r"unknown key 'default-variations'.*\n.*did you mean 'default_variations'", "r/meta.yaml:6"),
    "unknown-key-typo": ("r", r"unknown key 'version_max1'.*\n.*did you mean 'version_max'", "r/meta.yaml:4"),
    "variation-key-typo": ("r", r"unknown key 'evn'.*\n.*did you mean 'env'", "r/meta.yaml:5"),
    "duplicate-key": ("r", r"duplicate key 'cache' \(first defined on line 3\)", "r/meta.yaml:4"),
    "missing-tags": ("r", r"'tags' is a required property", "r/meta.yaml:1"),
    "empty": ("r", r"meta file is empty", "r/meta.yaml:1"),
    "json-meta": ("r", r"cache: expected boolean", "r/_cm.json:4"),
    "cycle": ("r", r"dependency cycle: r -> b \(required at .*r/meta.yaml:4\) -> r", "b/meta.yaml:4"),
    "missing-dep": ("r", r"no recipe has all the tags no-such,thing", "r/meta.yaml:5"),
    "unknown-dep-variation": ("r", r"no variation _nope", "r/meta.yaml:4"),
    "dep-unknown-input": ("r", r"has no input --nmae.*\n.*\n.*did you mean --name", "r/meta.yaml:4"),
    "dep-group-conflict": ("r", r"only one variation of a group", "r/meta.yaml:4"),
    "version-conflict": ("r", r"cannot satisfy the version of 'v'.*\n.*version >= 3.0.*r/meta.yaml:4\)\n.*version <= 2.5", "v/meta.yaml:3"),
    "customize-syntax": ("r", r"syntax error in customize.py", "r/customize.py:2"),
}


def test_every_corpus_folder_has_a_case():
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_recipe(case: str, tmp_path: Path) -> None:
    selector, pattern, where = CASES[case]
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / case, repo)
    home = tmp_path / "home"
    home.mkdir()
    (home / "repos.yaml").write_text(f"repos:\n  - path: {repo}\n")
    res = run_cmx("run", "script", selector, home=home)
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    assert re.search(pattern, res.err), res.err
    assert where in res.err, res.err
    assert store_entries(home) == []
    assert not (home / "cache" / ".tmp").exists() or not any((home / "cache" / ".tmp").iterdir())
    # the same through -j: one JSON object on stdout with the error
    res = run_cmx("run", "script", selector, "-j", home=home)
    assert res.code == 2 and res.json["return"] == 2
