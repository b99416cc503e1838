"""Every built-in recipe's own checks (`tests: run_inputs:` in its meta), run as a
user runs them: `cmx test script NAME`. They share the FlexBench test home, so
the recipes that need the benchmark venv build it once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cmx
from tests.conftest import FLEXBENCH_HOME as HOME

RECIPES = sorted(p.parent.name for p in (ROOT / "scripts").glob("*/meta.yaml")
                 if (yaml.safe_load(p.read_text()) or {}).get("tests"))


def test_most_recipes_declare_checks():
    every = sorted(p.parent.name for p in (ROOT / "scripts").glob("*/meta.yaml"))
    assert len(RECIPES) >= len(every) * 2 // 3, set(every) - set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_meta_tests(name: str) -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    res = run_cmx("test", "script", name, home=Path(HOME), timeout=1800)
    assert res.code == 0, res.out + res.err[-2000:]
    assert " 0 failed" in res.out
