"""Shared fixtures: an isolated CMX_HOME, a recipe repository to write into,
and a runner for the real `cmx` command line (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The project's shared data: ``../shared`` next to the checkout; in a git worktree, next to
    its main checkout (``.git`` is then a file naming ``<main>/.git/worktrees/<name>``)."""
    here = ROOT / ".." / "shared"
    if here.is_dir():
        return here
    dotgit = ROOT / ".git"
    if dotgit.is_file():
        text = dotgit.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            main = Path(text.split(":", 1)[1].strip()).resolve().parents[2]
            if (main / ".." / "shared").is_dir():
                return main / ".." / "shared"
    return here

# One CMX_HOME shared by the tests that run FlexBench, so its venv and the converted model are
# built once per machine (the first run takes several minutes). Absolute: nested runs inherit it.
FLEXBENCH_HOME = Path(os.environ.get("CMX_TEST_FLEXBENCH_HOME", ROOT / "cache" / "test-flexbench-home")).resolve()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def run_cmx(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None) -> Result:
    full_env = dict(os.environ)
    full_env["CMX_HOME"] = str(home)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or home)
    return Result(proc.returncode, proc.stdout, proc.stderr)


class RecipeRepo:
    """A recipe repository (``scripts/<alias>/``) registered in the home's repos.yaml."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        (root / "scripts").mkdir(parents=True, exist_ok=True)
        (home / "repos.yaml").write_text(f"repos:\n  - path: {root}\n    alias: test\n")

    def add(self, alias: str, meta: str, run_sh: str | None = None, customize: str | None = None,
            files: dict[str, str] | None = None) -> Path:
        d = self.root / "scripts" / alias
        d.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(meta).lstrip("\n")
        if not text.startswith("alias:"):
            text = f"alias: {alias}\n" + text
        (d / "meta.yaml").write_text(text)
        if run_sh is not None:
            (d / "run.sh").write_text(textwrap.dedent(run_sh).lstrip("\n"))
        if customize is not None:
            (d / "customize.py").write_text(textwrap.dedent(customize).lstrip("\n"))
        for name, body in (files or {}).items():
            (d / name).write_text(textwrap.dedent(body).lstrip("\n"))
        return d


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("CMX_HOME", str(h))
    return h


@pytest.fixture
def repo(home: Path, tmp_path: Path) -> RecipeRepo:
    return RecipeRepo(tmp_path / "repo", home)


@pytest.fixture
def cmx(home: Path):
    def _run(*args: str, **kw: Any) -> Result:
        return run_cmx(*args, home=home, **kw)

    return _run


def store_entries(home: Path) -> list[Path]:
    store = home / "cache" / "store"
    if not store.is_dir():
        return []
    return sorted(p for shard in store.iterdir() for p in shard.iterdir())


@pytest.fixture(scope="session")
def fhome() -> Path:
    """The shared FlexBench home (see FLEXBENCH_HOME)."""
    FLEXBENCH_HOME.mkdir(parents=True, exist_ok=True)
    return FLEXBENCH_HOME


@pytest.fixture(scope="session")
def published_dataset(tmp_path_factory) -> Path:
    """The published Open MLPerf Dataset (../shared) imported into a temporary dataset folder, once
    per session (FlexBoard's app tests and the predictor/recommend recipe tests read it)."""
    published_file = shared_dir() / "data" / "open-mlperf-dataset" / "data.parquet"
    if not published_file.is_file():
        pytest.skip(f"shared data not found: {published_file} (the project's ../shared next to the checkout)")
    from openmlperf.importers import published

    d = tmp_path_factory.mktemp("published-dataset")
    published.import_file(published_file.resolve(), d)
    return d
