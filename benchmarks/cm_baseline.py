"""Baseline: wall time of a warm, cached ``cm run script --tags=detect,os`` (cmind 4.2.0).

Used to compare the old CM tool with ``cmx run script --tags=detect,os`` on the
same machine. Nothing from CM is vendored in this project: everything below is
built under a work directory (default ``cache/bench/cm`` of the checkout, or
``$CMX_BENCH_WORKDIR/cm``).

How the CM side is prepared (reproducible):

1. ``cmind==4.2.0`` is pip-installed from PyPI into its own venv
   ``<workdir>/cm-venv`` (never into the project venv).
2. CM's ``script`` automation is not in cmind; it lives in the CM repository
   ``mlcommons/cm4mlops`` (``automation/script/module.py``), used at commit
   ``e1d5c7cf04d189531dd6c22dd1176100c94608c1`` (2025-03-13, "Merge pull
   request #659"). Get it yourself (e.g. a git clone, or the search tool's
   ``fetch github:mlcommons/cm4mlops``, which gives a bare git dir) and pass its path with
   ``--repo`` or ``CMX_BENCH_CM_REPO``. A git dir is exported with
   ``git archive <commit>`` into ``<workdir>``; an already extracted tree is
   used as it is.
3. Repos are registered offline with ``cm add repo --path=<dir>`` under
   ``CM_REPOS=<workdir>/cm-home-<mode>`` (writes ``repos.json`` and
   ``index.json`` there; ``~/CM`` is never touched).

Two modes:

* ``cached`` (the fair comparison): CM home holds only cm4mlops'
  ``cmr.yaml`` + ``automation/`` (the ``script`` and ``cache`` automations)
  plus a tiny CM-format repo written by this file (``cmx-bench-mini``) with
  one script ``bench-detect-os`` (tags ``detect,os,bench``, ``cache: true``)
  whose ``run.sh`` writes three ``CM_HOST_OS_*`` keys from ``uname`` into
  ``tmp-run-env.out``. After one filling run, every run is a cache hit
  (``run.sh`` is not executed again; checked via the cache entry's files).
* ``upstream``: the full cm4mlops tree with its real ``script/detect-os``.
  Its meta has no ``cache: true`` (nor ``can_force_cache``), so CM re-runs
  its ``run.sh`` and ``customize.py`` on every call: not a cache hit.

Run: ``python benchmarks/cm_baseline.py --repo /path/to/cm4mlops [--runs 10]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CM_WORKDIR  # noqa: E402

CMIND_VERSION = "4.2.0"
CM4MLOPS_COMMIT = "e1d5c7cf04d189531dd6c22dd1176100c94608c1"
REPO_ENV = "CMX_BENCH_CM_REPO"
RUN_CMD = ["run", "script", "--tags=detect,os", "--quiet"]
FIND_CMD = ["find", "script", "--tags=detect,os"]

_MINI_CMR = """alias: cmx-bench-mini
uid: 0c3b1e5a7d2f4c91
desc: minimal CM-format repo for the cmx benchmark (one cached detect,os script)
"""
_MINI_META = """alias: bench-detect-os
uid: 7f2a9c41d0e85b36
automation_alias: script
automation_uid: 5b4e0237da074764
cache: true
tags: [detect, os, bench]
new_env_keys: ['CM_HOST_OS_*']
"""
_MINI_RUN = """#!/bin/bash
# Record a few host facts as CM env keys.
{
  echo "CM_HOST_OS_KERNEL_NAME=$(uname -s)"
  echo "CM_HOST_OS_KERNEL_VERSION=$(uname -r)"
  echo "CM_HOST_OS_MACHINE=$(uname -m)"
} > tmp-run-env.out
"""


@dataclass(frozen=True)
class CmSetup:
    cm: Path  # the `cm` entry point inside the throw-away venv
    home: Path  # CM_REPOS for this setup
    cwd: Path  # where commands are run (CM writes tmp files here when not cached)
    mode: str  # "cached" or "upstream"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
        env["CM_REPOS"] = str(self.home)
        return env


def _run(cmd: list[str], env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, check=False, env=env, cwd=cwd)


def _ensure_venv(workdir: Path) -> Path | None:
    vdir = workdir / "cm-venv"
    py, cm = vdir / "bin" / "python", vdir / "bin" / "cm"
    if not cm.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(vdir)
        r = _run([str(py), "-m", "pip", "install", "-q", f"cmind=={CMIND_VERSION}"])
        if r.returncode != 0:
            print(f"cm baseline: pip install cmind=={CMIND_VERSION} failed:\n{r.stderr[-2000:]}")
            return None
    r = _run([str(py), "-c", "import cmind; print(cmind.__version__)"])
    if r.returncode != 0 or r.stdout.strip() != CMIND_VERSION:
        print(f"cm baseline: cmind {CMIND_VERSION} not usable in {vdir}: {r.stdout}{r.stderr}")
        return None
    return cm


def _ensure_repo_tree(repo: Path, workdir: Path) -> Path | None:
    """Return an extracted cm4mlops tree, exporting it from a git dir if needed."""
    if (repo / "automation" / "script" / "module.py").is_file():
        return repo
    dest = workdir / f"cm4mlops-{CM4MLOPS_COMMIT[:8]}"
    if (dest / "automation" / "script" / "module.py").is_file():
        return dest
    gitdir = repo / ".git" if (repo / ".git").exists() else repo
    dest.mkdir(parents=True, exist_ok=True)
    arch = subprocess.Popen(
        ["git", f"--git-dir={gitdir}", "archive", CM4MLOPS_COMMIT], stdout=subprocess.PIPE
    )
    tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=arch.stdout, check=False)
    if arch.wait() != 0 or tar.returncode != 0:
        print(f"cm baseline: cannot export commit {CM4MLOPS_COMMIT} from {repo}")
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return dest


def _write_mini_repo(root: Path) -> None:
    script = root / "script" / "bench-detect-os"
    script.mkdir(parents=True, exist_ok=True)
    (root / "cmr.yaml").write_text(_MINI_CMR)
    (script / "_cm.yaml").write_text(_MINI_META)
    (script / "run.sh").write_text(_MINI_RUN)
    (script / "run.sh").chmod(0o755)


def prepare_cm(workdir: Path, repo: Path | None = None, mode: str = "cached") -> CmSetup | None:
    """Build (or reuse) the cmind venv + CM home under `workdir` and fill the cache once."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if repo is None and os.environ.get(REPO_ENV):
        repo = Path(os.environ[REPO_ENV])
    if repo is None and (workdir / f"cm4mlops-{CM4MLOPS_COMMIT[:8]}").is_dir():
        repo = workdir / f"cm4mlops-{CM4MLOPS_COMMIT[:8]}"  # exported by an earlier run
    if repo is None or not repo.exists():
        print(f"cm baseline: no cm4mlops repo (pass --repo or set {REPO_ENV}); got {repo}")
        return None
    cm = _ensure_venv(workdir)
    tree = _ensure_repo_tree(repo.resolve(), workdir) if cm else None
    if cm is None or tree is None:
        return None
    if mode == "upstream":
        paths = [tree]
    else:
        auto = workdir / "cm4mlops-automation"
        if not (auto / "automation" / "script").is_dir():
            shutil.copytree(tree / "automation", auto / "automation", dirs_exist_ok=True)
            shutil.copy2(tree / "cmr.yaml", auto / "cmr.yaml")
        mini = workdir / "cmx-bench-mini"
        _write_mini_repo(mini)
        paths = [auto, mini]
    setup = CmSetup(cm=cm, home=workdir / f"cm-home-{mode}", cwd=workdir / f"cwd-{mode}", mode=mode)
    setup.cwd.mkdir(exist_ok=True)
    repos_json = setup.home / "repos.json"
    for p in paths:
        if repos_json.is_file() and str(p) in repos_json.read_text():
            continue
        r = _run([str(cm), "add", "repo", f"--path={p}"], env=setup.env(), cwd=setup.cwd)
        if r.returncode != 0:
            print(f"cm baseline: `cm add repo --path={p}` failed:\n{r.stdout}{r.stderr}")
            return None
    r = _run([str(cm), *RUN_CMD], env=setup.env(), cwd=setup.cwd)  # fills the cache
    if r.returncode != 0:
        print(f"cm baseline: first `cm {' '.join(RUN_CMD)}` failed:\n{r.stdout}{r.stderr}")
        return None
    return setup


def cache_entries(setup: CmSetup) -> list[Path]:
    """Files `run.sh` wrote in CM cache entries (their mtimes show whether it re-ran)."""
    return sorted((setup.home / "repos" / "local" / "cache").glob("*/tmp-run-env.out"))


def _time(setup: CmSetup, args: list[str], runs: int) -> list[float]:
    cmd, env = [str(setup.cm), *args], setup.env()
    samples: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, cwd=setup.cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise RuntimeError(f"`cm {' '.join(args)}` exited {r.returncode}")
    return samples


def time_cm_cached(setup: CmSetup, runs: int) -> list[float]:
    """Wall times (s) of the warm `cm run script --tags=detect,os --quiet`."""
    return _time(setup, RUN_CMD, runs)


def time_cm_find(setup: CmSetup, runs: int) -> list[float]:
    """Wall times (s) of `cm find script --tags=detect,os`."""
    return _time(setup, FIND_CMD, runs)


def _report(label: str, samples: list[float]) -> None:
    ms = [round(s * 1000, 1) for s in samples]
    print(f"{label}: median {statistics.median(samples) * 1000:.1f} ms, "
          f"min {min(ms)} ms, max {max(ms)} ms, stdev {statistics.pstdev(samples) * 1000:.1f} ms")
    print(f"  samples (ms): {ms}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--workdir", type=Path, default=CM_WORKDIR)
    ap.add_argument("--repo", type=Path, default=None, help=f"cm4mlops tree or git dir (or ${REPO_ENV})")
    ap.add_argument("--mode", choices=["cached", "upstream"], default="cached")
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args(argv)
    setup = prepare_cm(a.workdir, a.repo, a.mode)
    if setup is None:
        return 1
    before = {p: p.stat().st_mtime_ns for p in cache_entries(setup)}
    _report(f"cm {' '.join(RUN_CMD)} [{a.mode}]", time_cm_cached(setup, a.runs))
    _report(f"cm {' '.join(FIND_CMD)} [{a.mode}]", time_cm_find(setup, a.runs))
    after = {p: p.stat().st_mtime_ns for p in cache_entries(setup)}
    hit = bool(before) and before == after
    print(f"cache entries: {len(after)}; warm runs were cache hits (run.sh not re-run): {hit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
