"""Lookup in a 1,000-recipe repository: ``cmx find script --tags=<the tags of one recipe>``.

A repository of 1,000 recipes is generated in a temp dir: ``bench-find-NNNN``
with tags ``get,bench-find,fam-FF,item-NNNN`` (50 families of 20), a
``detect,os`` dependency, a variation group, a ``run.sh``. The query is the
full tag list of recipe 500, so it matches exactly one recipe while the shared
tags (``get``, ``bench-find``) match all 1,000.

Measured: the first ``cmx find`` (cold: builds the index of 1,000 recipes) once,
then, interleaved per round: the warm ``cmx find``, ``python -c pass`` and, if
the CM baseline can be prepared (``benchmarks/cm_baseline.py``: cmind 4.2.0
plus cm4mlops' ``script`` automation), ``cm find script`` with the same tags
on a CM-layout copy of the same 1,000 recipes (``script/<name>/_cm.yaml``,
``cmr.yaml``), with CM's own index warm. Each timed run is checked to return
the one expected recipe.

Run: ``python benchmarks/find_1k.py [--runs 20] [--json] [--cm-repo DIR | --no-cm]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    CM_WORKDIR, add_cmx_vs_cm_args, checked, clean_env, cmx_binary, Command, command_timer, emit,
    interleave, machine, min_runs, Outcome, rmtree, Stats, stats_json, venv_python,
)

TARGET_MS = 50.0
N_RECIPES = 1000
PICK = 500
REFERENCE_MLC = "~4.7 s for `mlc find script --tags=detect,os` (reference cm-mlc-anatomy.md), not re-measured"

FIND, FLOOR, CM = "cmx find (warm index)", "python -c pass", "cm find (warm CM index)"


def _tags(n: int) -> list[str]:
    return ["get", "bench-find", f"fam-{n // 20:02d}", f"item-{n:04d}"]


def _meta_body(n: int) -> str:
    return f"""tags: [{', '.join(_tags(n))}]
cache: true
deps:
  - tags: detect,os
    names: [os]
default_env:
  BENCH_FIND_ITEM: "{n:04d}"
variations:
  small:
    group: size
    default: true
    env: {{BENCH_FIND_SIZE: small}}
  large:
    group: size
    env: {{BENCH_FIND_SIZE: large}}
new_env_keys: [BENCH_FIND_*]
"""


_RUN_SH = "#!/bin/bash\necho \"BENCH_FIND_DONE=yes\" > tmp-run-env.out\n"


def generate(root: Path, n_recipes: int = N_RECIPES) -> None:
    """cmx layout: root/scripts/<name>/meta.yaml."""
    for n in range(n_recipes):
        d = root / "scripts" / f"bench-find-{n:04d}"
        d.mkdir(parents=True)
        (d / "meta.yaml").write_text(f"schema_version: 1\nalias: bench-find-{n:04d}\nuid: {0xF0000000 + n:x}\n"
                                     + _meta_body(n))
        (d / "run.sh").write_text(_RUN_SH)


def generate_cm(root: Path, n_recipes: int = N_RECIPES) -> None:
    """The same recipes in CM's layout: root/cmr.yaml, root/script/<name>/_cm.yaml."""
    root.mkdir(parents=True)
    (root / "cmr.yaml").write_text("alias: cmx-bench-find1k\nuid: 5e1f0a2b3c4d5e6f\n"
                                   "desc: 1,000 generated scripts for the cmx find benchmark\n")
    for n in range(n_recipes):
        d = root / "script" / f"bench-find-{n:04d}"
        d.mkdir(parents=True)
        (d / "_cm.yaml").write_text(f"alias: bench-find-{n:04d}\nuid: {0xABC0000000000000 + n:016x}\n"
                                    "automation_alias: script\nautomation_uid: 5b4e0237da074764\n"
                                    + _meta_body(n))
        (d / "run.sh").write_text(_RUN_SH)


def _expect(name: str) -> Any:
    def check(o: Outcome) -> None:
        found = [line for line in o.stdout.splitlines() if "bench-find-" in line]
        if len(found) != 1 or name not in found[0]:
            raise RuntimeError(f"expected exactly {name}, got:\n{o.stdout[:600]}{o.stderr_tail}")

    return check


def _cm_command(work: Path, cm_repo: Path | None, cm_workdir: Path, query: str) -> tuple[Command | None, str]:
    try:
        import cm_baseline
    except ImportError as exc:
        return None, f"cm_baseline.py not importable: {exc}"
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # keep stdout clean for --json; the reason goes in the note
            base = cm_baseline.prepare_cm(cm_workdir, cm_repo, "cached")
    except Exception as exc:  # any failure to build the baseline must not stop the cmx figures
        return None, f"preparing cm failed: {type(exc).__name__}: {exc}"
    finally:
        sys.stderr.write(said.getvalue())
    if base is None:
        why = (said.getvalue().strip().splitlines() or ["cm_baseline.prepare_cm failed"])[0]
        return None, why.removeprefix("cm baseline: ")
    automation = cm_workdir.resolve() / "cm4mlops-automation"
    cm_repo_dir = work / "cm-repo"
    generate_cm(cm_repo_dir)
    setup = cm_baseline.CmSetup(cm=base.cm, home=work / "cm-home", cwd=work / "cm-cwd", mode="find1k")
    setup.cwd.mkdir()
    for p in (automation, cm_repo_dir):
        checked(Command("cm add repo", [str(setup.cm), "add", "repo", f"--path={p}"], setup.env(),
                        cwd=setup.cwd, keep_stdout=True))
    cmd = Command(CM, [str(setup.cm), "find", "script", f"--tags={query}"], setup.env(), cwd=setup.cwd,
                  keep_stdout=True)
    return cmd, f"cmind {cm_baseline.CMIND_VERSION}, cm4mlops {cm_baseline.CM4MLOPS_COMMIT[:8]} script automation"


def measure(runs: int = 20, *, cmx: str | None = None, cm_repo: Path | None = None, no_cm: bool = False,
            cm_workdir: Path = CM_WORKDIR, log: bool = True) -> dict[str, Any]:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = min_runs(runs, 10, "find_1k")
    cmx_bin = cmx_binary(cmx)
    work = Path(tempfile.mkdtemp(prefix="cmx-bench-find1k-"))
    query, name = ",".join(_tags(PICK)), f"bench-find-{PICK:04d}"
    try:
        repo, home = work / "repo", work / "home"
        generate(repo)
        env = clean_env(CMX_HOME=str(home))
        checked(Command("add", [str(cmx_bin), "add", "repo", str(repo)], env, cwd=work))
        find = Command(FIND, [str(cmx_bin), "find", "script", f"--tags={query}"], env, cwd=work, keep_stdout=True)
        cold = checked(find)  # builds the index
        _expect(name)(cold)
        floor = Command(FLOOR, [str(venv_python(cmx_bin)), "-c", "pass"], clean_env())
        checked(find)
        checked(floor)
        timers = [(FIND, command_timer(find, _expect(name))), (FLOOR, command_timer(floor))]
        cm_note, cm_cold = "not measured (--no-cm)", None
        if not no_cm:
            cm_cmd, info = _cm_command(work, cm_repo, cm_workdir, query)
            if cm_cmd is None:
                cm_note = f"not measured ({info})"
            else:
                first = checked(cm_cmd)  # CM indexes the new repo here if `add repo` did not
                _expect(name)(first)
                cm_cold = first.seconds
                checked(cm_cmd)
                cm_note = info
                timers.append((CM, command_timer(cm_cmd, _expect(name))))
        if log:
            print(f"timing {runs} interleaved rounds of: {', '.join(t[0] for t in timers)}", file=sys.stderr)
        stats = interleave(timers, runs)
    finally:
        rmtree(work)
    res: dict[str, Any] = {
        "benchmark": "find_1k", "runs": runs, "machine": machine(), "recipes": N_RECIPES, "query": query,
        "cold_index_ms": round(cold.seconds * 1000, 1), "series": stats_json(stats), "cm": cm_note,
        "cm_first_find_ms": None if cm_cold is None else round(cm_cold * 1000, 1),
        "target_ms": TARGET_MS, "mlc_reference": REFERENCE_MLC,
        "find_minus_floor_ms": round((stats[FIND].median - stats[FLOOR].median) * 1000, 2),
    }
    if CM in stats:
        res["ratio_cmx_over_cm"] = round(stats[FIND].median / stats[CM].median, 3)
    return res


def report_lines(res: dict[str, Any]) -> list[str]:
    s = {k: Stats(v["label"], [x / 1000 for x in v["samples_ms"]]) for k, v in res["series"].items()}
    out = [f"find 1k: {res['recipes']} recipes, --tags={res['query']}; {res['runs']} interleaved rounds  "
           f"[{res['machine']['cpus']} cpus, {res['machine']['python']}, cmx {res['machine']['cmx_commit']}]",
           f"  cold first cmx find (builds the index): {res['cold_index_ms']:.0f} ms"]
    out += [f"  {st.line()}" for st in s.values()]
    out.append(f"  cmx find - floor: {res['find_minus_floor_ms']:.1f} ms")
    if "ratio_cmx_over_cm" in res:
        out.append(f"  ratio cmx/cm find (medians): {res['ratio_cmx_over_cm']:.2f}  ({res['cm']}; "
                   f"first cm find after `cm add repo`: {res['cm_first_find_ms']:.0f} ms)")
    else:
        out.append(f"  cm: {res['cm']}")
    out.append(f"  mlc: {res['mlc_reference']}")
    out.append(f"  target (issue): warm cmx find <= {res['target_ms']:.0f} ms")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_cmx_vs_cm_args(ap)
    a = ap.parse_args(argv)
    res = measure(a.runs, cmx=a.cmx, cm_repo=a.cm_repo, no_cm=a.no_cm, cm_workdir=a.cm_workdir)
    emit(res, a.json, report_lines(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
