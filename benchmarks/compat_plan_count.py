"""How many recipes of a CM/MLC repository cmx can plan (``--dry-run``), and why the others cannot
(docs/compat.md "How many recipes plan"). Not a timing: a count, run by hand, not by ``make bench``.

Each repository is registered alone in an empty ``CMX_HOME`` (a temporary folder) and every recipe of
its ``script/`` folder is planned by name (``REPO:NAME``, no variation, no flags) in one process.
Recipes that cannot be indexed (``cmx find script --show-broken``) count as not planned.

Run: ``python benchmarks/compat_plan_count.py DIR [DIR...] [--json] [--failures]`` with checkouts of
mlcommons/cm4mlops and mlcommons/mlperf-automations (or ``CMX_TEST_CM4MLOPS`` /
``CMX_TEST_MLPERF_AUTOMATIONS`` set, when no DIR is given).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_COUNT = """
import json, sys
from cmx.api import Engine
from cmx.plan.planner import Request
from cmx.selector import Selector

engine = Engine()
index = engine.index
repo = sys.argv[1]
names = sorted({r.alias for r in index.recipes if r.repo == repo} | {b.alias for b in index.broken if b.repo == repo})
out = {}
for name in names:
    try:
        engine.plan(Request(selector=Selector(), name=f"{repo}:{name}"))
        out[name] = None
    except Exception as exc:  # the reason, first line
        out[name] = (str(exc).splitlines() or [type(exc).__name__])[0]
print(json.dumps(out))
"""


def count(checkout: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cmx-plancount-") as tmp:
        env = {**os.environ, "CMX_HOME": tmp}
        add = subprocess.run([sys.executable, "-m", "cmx.cli.main", "add", "repo", str(checkout), "--alias=theirs"],
                             capture_output=True, text=True, env=env)
        if add.returncode != 0:
            raise SystemExit(f"cmx add repo {checkout}: {add.stderr.strip()}")
        proc = subprocess.run([sys.executable, "-c", _COUNT, "theirs"], capture_output=True, text=True, env=env,
                              cwd=tmp)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
    results: dict[str, str | None] = json.loads(proc.stdout.strip().splitlines()[-1])
    failures = {k: v for k, v in results.items() if v}
    return {"repository": str(checkout), "recipes": len(results), "plan": len(results) - len(failures),
            "failures": failures, "causes": collections.Counter(_cause(v) for v in failures.values())}


def _cause(error: str) -> str:
    """A short class of a plan error, for the table of docs/compat.md."""
    for pattern, cause in (
        (r"syntax error in customize\.py", "broken at index: customize.py syntax error"),
        (r"invalid (YAML|JSON)", "broken at index: invalid YAML/JSON"),
        (r"\.(yaml|json):\d+: ", "broken at index: meta"),
        (r"has no input --", "a dependency passes an input the called recipe does not map"),
        (r"must be one of", "a default outside `choices`"),
        (r"bad tag|bad variation", "a tag that is not a selector (`_url.https:...`)"),
        (r"no recipe has all the tags", "no recipe with the tags"),
        (r"cycle", "a dependency cycle"),
    ):
        if re.search(pattern, error):
            return cause
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--failures", action="store_true", help="list every recipe that does not plan, with its reason")
    a = ap.parse_args()
    dirs = a.dirs or [Path(v) for v in (os.environ.get("CMX_TEST_CM4MLOPS"), os.environ.get("CMX_TEST_MLPERF_AUTOMATIONS")) if v]
    if not dirs:
        raise SystemExit("give checkouts of the repositories, or set CMX_TEST_CM4MLOPS / CMX_TEST_MLPERF_AUTOMATIONS")
    results = [count(d) for d in dirs]
    if a.json:
        print(json.dumps(results, indent=2, default=str))
        return
    for r in results:
        print(f"{r['repository']}: {r['plan']}/{r['recipes']} plan ({100 * r['plan'] / max(1, r['recipes']):.0f}%)")
        for cause, n in r["causes"].most_common():
            print(f"  {n:4d}  {cause}")
        if a.failures:
            for name, error in sorted(r["failures"].items()):
                print(f"    {name}: {error}")


if __name__ == "__main__":
    main()
