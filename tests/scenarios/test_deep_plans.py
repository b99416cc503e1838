"""Deep dependency graphs through the real command line: a long chain plans and runs (a depth
is not a cycle), and a true cycle is reported with its exact path (issue 11, "Plans")."""

from __future__ import annotations

import re

import pytest


def _chain(repo, n: int, back_to: int | None = None) -> None:
    """c0 -> c1 -> ... -> c{n-1} (-> c{back_to}: a cycle)."""
    for i in range(n):
        nxt = i + 1 if i + 1 < n else back_to
        deps = f"deps:\n  - tags: c{nxt}\n" if nxt is not None else ""
        repo.add(f"c{i}", f"schema_version: 1\ntags: [c{i}]\ncache: true\nnew_env_keys: [C_*]\n{deps}",
                 f'echo "C_{i}=${{C_{i + 1}}}x" > tmp-run-env.out\n' if nxt is not None or back_to is None else None)


def test_a_2000_deep_chain_plans(repo, cmx):
    _chain(repo, 2000)
    res = cmx("run", "script", "--tags=c0", "--dry-run", "-j")
    assert res.code == 0, res.err[-2000:]
    plan = res.json["plan"]
    assert len(plan) == 2000 and plan[0]["recipe"] == "c1999" and plan[-1]["recipe"] == "c0"
    assert "cycle" not in res.err


def test_a_120_deep_chain_runs_and_passes_its_outputs_up(repo, cmx):
    _chain(repo, 120)
    res = cmx("run", "script", "--tags=c0", "-j", "-q")
    assert res.code == 0, res.err[-2000:]
    assert res.json["new_env"]["C_0"] == "x" * 120  # each level appended one x to the one below


@pytest.mark.slow
def test_a_600_deep_chain_runs(repo, cmx):
    """Beyond the executor's old recursion (two Python frames a level: ~490 levels); ~15 s."""
    _chain(repo, 600)
    res = cmx("run", "script", "--tags=c0", "-j", "-q", timeout=900)
    assert res.code == 0, res.err[-2000:]
    assert res.json["new_env"]["C_0"] == "x" * 600


def test_a_true_cycle_far_down_names_its_exact_path(repo, cmx):
    _chain(repo, 300, back_to=250)
    res = cmx("run", "script", "--tags=c0", "--dry-run")
    assert res.code != 0 and "Traceback" not in res.err
    line = next(l for l in res.err.splitlines() if "dependency cycle:" in l)
    path = [p.split(" ")[0] for p in line.split("dependency cycle: ", 1)[1].split(" -> ")]
    assert path == [f"c{i}" for i in range(250, 300)] + ["c250"]
    assert "depth limit" not in res.err
    assert re.search(r"c250 \(required at .*c299/meta\.yaml:\d+\)$", line)
