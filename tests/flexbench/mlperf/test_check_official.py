"""Agreement: our checker against MLPerf's two checkers on the same trees.

MLPerf's checkers come from the local mirror of mlcommons/inference, checked out through
the real ``get,git,repo`` recipe with a sparse checkout (the mirror lacks some large blobs
elsewhere in the repository). A result is *officially accepted* when both of MLPerf's
checkers accept it; ours must give the same verdict for every result of every tree:

- trees built from real short LoadGen runs (as they are, made compliant, and with each
  single-rule mutation of tests/flexbench/mlperf/test_check.py);
- trees built by the packaging code (flexbench.mlperf.package) from the same runs;
- the official sample tree tools/submission/directory_structure_samples/sample_1.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flexbench.mlperf import official
from flexbench.mlperf.check import check_submission, summary_csv
from tests.conftest import run_cmx
from tests.flexbench.mlperf import checktrees as ct
from tests.flexbench.mlperf.test_check import MUTATIONS, build

pytestmark = pytest.mark.skipif(not ct.mirror_available(),
                                reason=ct.MIRROR_SKIP)

SPARSE = "tools/submission/submission_checker,tools/submission/power"


@pytest.fixture(scope="module")
def checker_dir(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cmx-home")
    res = run_cmx("run", "script", "--tags=get,git,repo", f"--url={ct.MIRROR}", f"--sparse={SPARSE}", "-j",
                  "--quiet", home=home)
    assert res.code == 0, res.err[-2000:]
    checkout = Path(res.json["new_env"]["CMX_GIT_CHECKOUT_PATH"])
    tools = checkout / "tools" / "submission"
    # only the checker's folders (plus the files next to them) are in the work tree
    assert (tools / "submission_checker_old.py").is_file() and (tools / "log_parser.py").is_file()
    assert not (tools / "directory_structure_samples").exists()
    return official.find_checker_dir(checkout)


def verdicts(root: Path, checker_dir: Path, out: Path) -> tuple[dict[str, bool], dict[str, official.OfficialVerdict]]:
    report = check_submission(root)
    ours = {r.key: r.passed for r in report.results}
    return ours, official.run_official(root, checker_dir, out, python=sys.executable)


def assert_agree(root: Path, checker_dir: Path, out: Path) -> tuple[official.Agreement, ...]:
    ours, v = verdicts(root, checker_dir, out)
    agreement = official.compare(ours, v)
    assert agreement and all(a.official is not None for a in agreement), agreement
    bad = [a for a in agreement if not a.agrees]
    assert not bad, f"disagreement on {root}: {bad} (logs: {v['new'].log_path}, {v['old'].log_path})"
    return agreement


CASES = ["short run", "compliant Offline", "compliant Server", *MUTATIONS]


@pytest.mark.parametrize("case", CASES)
def test_same_verdict_as_mlperf_on_trees_from_real_runs(case, checker_dir, tmp_path):
    if case in MUTATIONS:
        kind, mutate, _ = MUTATIONS[case]
        res = build(tmp_path / "tree", kind, compliant=True)
        mutate(res)
    else:
        res = build(tmp_path / "tree", "server" if "Server" in case else "offline", compliant=case != "short run")
    (a,) = assert_agree(res.parents[5], checker_dir, tmp_path / "out")
    assert a.ours is (case in ("compliant Offline", "compliant Server"))


def test_the_two_official_checkers_disagree_on_an_invalid_run(checker_dir, tmp_path):
    """The modular checker accepts an INVALID performance run; the old one rejects it. We reject it."""
    res = build(tmp_path / "tree", "offline", compliant=True)
    ct.set_log_value(res / "performance/run_1/mlperf_log_detail.txt", "result_validity", "INVALID")
    (a,) = assert_agree(res.parents[5], checker_dir, tmp_path / "out")
    assert (a.new, a.old, a.ours) == (True, False, False)


def test_same_verdict_on_a_packaged_tree(checker_dir, tmp_path):
    from flexbench.mlperf import package

    rep = package.generate(package.Request(results=(ct.real_run("offline"), ct.real_run("server")),
                                           out_dir=tmp_path / "sub", submitter="FlexBench"))
    agreement = assert_agree(Path(rep.root), checker_dir, tmp_path / "out")
    assert len(agreement) == 2 and not any(a.ours for a in agreement)  # short runs: rejected by all


def test_summary_csv_matches_the_official_one(checker_dir, tmp_path):
    res = build(tmp_path / "tree", "offline", compliant=True)
    root = res.parents[5]
    report = check_submission(root)
    ours_csv = summary_csv.write(tmp_path / "summary.csv", [r.csv_row for r in report.results if r.csv_row])
    v = official.run_checker("new", root, checker_dir, tmp_path / "out", python=sys.executable)
    with open(ours_csv, newline="") as a, open(v.csv_path, newline="") as b:
        ours, theirs = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert list(ours[0]) == list(theirs[0]) == list(summary_csv.COLUMNS)
    assert len(ours) == len(theirs) == 1
    for col in summary_csv.COLUMNS:
        if col in ("Location", "design_power_watts"):  # absolute path / "None" in theirs
            continue
        assert ours[0][col] == theirs[0][col], col
    assert theirs[0]["Location"].endswith(ours[0]["Location"])


def _extract_sample(dest: Path) -> int:
    """Copy sample_1 out of the mirror; returns how many (large, optional trace) blobs it lacks."""
    prefix = "tools/submission/directory_structure_samples/sample_1/"
    listing = subprocess.run(["git", "--git-dir", str(ct.MIRROR), "ls-tree", "-r", "HEAD", prefix],
                             capture_output=True, text=True, check=True).stdout
    missing = 0
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        sha = meta.split()[2]
        blob = subprocess.run(["git", "--git-dir", str(ct.MIRROR), "cat-file", "blob", sha], capture_output=True)
        if blob.returncode:
            assert path.endswith("mlperf_log_trace.json"), path  # only optional trace logs may be absent
            missing += 1
            continue
        target = dest / path[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
    return missing


def test_same_verdict_on_the_official_sample_tree(checker_dir, tmp_path):
    root = tmp_path / "sample_1"
    _extract_sample(root)
    agreement = assert_agree(root, checker_dir, tmp_path / "out")
    assert len(agreement) == 22
    # the sample is from an earlier round: its seeds are not v6.1's, so everyone rejects it
    report = check_submission(root)
    assert all("perf.seeds" in {f.rule for f in r.errors} for r in report.results)
    shutil.rmtree(root)
