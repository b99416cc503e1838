"""Planning a ~10,000-node DAG: ``cmx run script --tags=bench-root --dry-run -j`` on a generated repo.

The generated repository (in a temp dir) is shaped like a real one:

* ``bench-root`` (tags ``bench,bench-root``) depends on ``detect,os`` (cmx's
  built-in probe), on ``bench,platform`` and on 100 components, a quarter of
  them with the non-default variation ``_cuda``;
* each component (tags ``bench,component,comp-NNN``; variation group
  ``backend`` with default ``cpu``; a ``customize.py``) depends on
  ``bench,platform`` and on its 99 libraries through tags
  (``get,bench-lib,lib-NNN-MMM``), asking every sixth one for ``_fp16``;
* each library (a ``meta.yaml`` and a ``run.sh``; every third one has a
  ``precision`` group with default ``fp32``) depends on ``bench,platform``;
* ``bench-platform`` is the shared dependency reached ~10,000 ways, so
  deduplication matters (like ``detect,os`` in CM repos).

That is 10,002 recipes; the plan has 10,003 nodes (with detect-os).

Measured: the first ``cmx find`` (cold: builds the index of 10,002 recipes)
and the first dry run after it, once each; then, interleaved per round: the warm dry run, ``cmx find script
--tags=bench-root`` on the same warm index (start-up + index load, no
planning) and ``python -c pass``. If Snakemake is installed (or installable
with pip into a venv of its own, default ``cache/bench/snakemake-venv``),
``snakemake -n --cores 1 -q`` on a Snakefile of the same shape (10,002 jobs)
joins the rounds; otherwise it is reported as not measured.

Run: ``python benchmarks/plan_10k.py [--runs 5] [--json] [--no-snakemake]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH_WORKDIR, Command, Outcome, Stats, checked, clean_env, cmx_binary, command_timer, emit, interleave, machine,
    min_runs, rmtree, stats_json, venv_python,
)

TARGET_S = 1.0
COMPONENTS, LIBS = 100, 99
SNAKEMAKE_VERSION = "9.27.1"  # the version the reference measured
SNAKEMAKE_VENV = BENCH_WORKDIR / "snakemake-venv"
REFERENCE_SNAKEMAKE = "7.3-10.2 s for a 10,000-job dry run (snakemake 9.27.1, reference engine-anchors.md section 7.2)"

PLAN, FIND, FLOOR, SNAKE = "cmx dry-run plan (warm index)", "cmx find (warm index)", "python -c pass", "snakemake -n"
BASELINE = "baseline cmx dry-run plan (--baseline-cmx)"


# -- the generated repository -------------------------------------------------------
def _lib_meta(c: int, m: int) -> str:
    text = f"""schema_version: 1
alias: bench-lib-{c:03d}-{m:03d}
uid: {0xB0000000 + c * 1000 + m:x}
tags: [get, bench-lib, lib-{c:03d}-{m:03d}]
cache: true
deps:
  - tags: bench,platform
    names: [platform]
default_env:
  BENCH_LIB_OPT: "-O2"
env:
  BENCH_LIB_ID: "{c:03d}-{m:03d}"
input_mapping:
  opt: BENCH_LIB_OPT
new_env_keys: [BENCH_LIB_{c:03d}_{m:03d}_*]
"""
    if m % 3 == 0:
        text += """variations:
  fp32:
    group: precision
    default: true
    env: {BENCH_PRECISION: fp32}
  fp16:
    group: precision
    env: {BENCH_PRECISION: fp16}
  int8:
    group: precision
    env: {BENCH_PRECISION: int8}
"""
    return text


def _component_meta(c: int, libs: int) -> str:
    deps = ["  - tags: bench,platform\n    names: [platform]\n"]
    for m in range(libs):
        var = ",_fp16" if m % 6 == 0 else ""
        deps.append(f"  - tags: get,bench-lib,lib-{c:03d}-{m:03d}{var}\n    names: [lib-{m:03d}]\n")
    return f"""schema_version: 1
alias: bench-component-{c:03d}
uid: {0xC0000000 + c:x}
tags: [bench, component, comp-{c:03d}]
cache: true
default_env:
  BENCH_BACKEND: cpu
deps:
{''.join(deps)}variations:
  cpu:
    group: backend
    default: true
    env: {{BENCH_BACKEND: cpu}}
  cuda:
    group: backend
    env: {{BENCH_BACKEND: cuda, BENCH_CUDA_ARCH: sm_80}}
new_env_keys: [BENCH_COMPONENT_*]
"""


_RUN_SH = "#!/bin/bash\necho \"BENCH_DONE_{name}=yes\" > tmp-run-env.out\n"
_CUSTOMIZE = """def preprocess(i):
    return {"return": 0}


def postprocess(i):
    return {"return": 0}
"""


def generate(root: Path, components: int = COMPONENTS, libs: int = LIBS) -> int:
    """Write the repository under ``root/scripts``; return the number of recipes."""
    scripts = root / "scripts"

    def recipe(name: str, meta: str, customize: bool = False) -> None:
        d = scripts / name
        d.mkdir(parents=True)
        (d / "meta.yaml").write_text(meta)
        (d / "run.sh").write_text(_RUN_SH.format(name=name.replace("-", "_").upper()))
        if customize:
            (d / "customize.py").write_text(_CUSTOMIZE)

    recipe("bench-platform", """schema_version: 1
alias: bench-platform
uid: a0000001
tags: [bench, platform]
cache: true
new_env_keys: [BENCH_PLATFORM_*]
""")
    root_deps = "  - tags: detect,os\n    names: [os]\n  - tags: bench,platform\n    names: [platform]\n"
    for c in range(components):
        var = ",_cuda" if c % 4 == 0 else ""
        root_deps += f"  - tags: bench,component,comp-{c:03d}{var}\n    names: [comp-{c:03d}]\n"
    recipe("bench-root", f"""schema_version: 1
alias: bench-root
uid: a0000002
tags: [bench, bench-root]
cache: true
deps:
{root_deps}""")
    for c in range(components):
        recipe(f"bench-component-{c:03d}", _component_meta(c, libs), customize=True)
        for m in range(libs):
            recipe(f"bench-lib-{c:03d}-{m:03d}", _lib_meta(c, m))
    return 2 + components * (1 + libs)


SNAKEFILE = """C = {components}
L = {libs}

rule all:
    input: expand("comp/{{c}}.txt", c=range(C)), "platform.txt"

rule comp:
    input: lambda w: expand("lib/{{c}}/{{m}}.txt", c=w.c, m=range(L)), "platform.txt"
    output: "comp/{{c}}.txt"
    shell: "cat {{input}} > {{output}}"

rule lib:
    input: "platform.txt"
    output: "lib/{{c}}/{{m}}.txt"
    shell: "echo {{wildcards.c}} {{wildcards.m}} > {{output}}"

rule platform:
    output: "platform.txt"
    shell: "uname -a > {{output}}"
"""


@dataclass(frozen=True)
class Shape:
    """A generated repository, its root tags and the Snakefile of the same DAG."""

    name: str
    generate: Callable[[Path], int]
    root_tags: str
    snakefile: Callable[[Path], str]  # writes any side files into the folder given, returns the Snakefile


TREE = Shape("tree", generate, "bench-root",
             lambda _d: SNAKEFILE.format(components=COMPONENTS, libs=LIBS))


# -- snakemake (optional) ------------------------------------------------------------
def snakemake_binary(venv_dir: Path, install: bool) -> tuple[Path | None, str]:
    exe = venv_dir / "bin" / "snakemake"
    if not exe.exists() and install:
        print(f"installing snakemake=={SNAKEMAKE_VERSION} into {venv_dir} (one time) ...", file=sys.stderr)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except Exception as exc:
            return None, f"cannot create a venv at {venv_dir}: {exc}"
        r = subprocess.run([str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q",
                            f"snakemake=={SNAKEMAKE_VERSION}"], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            tail = (r.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"pip install snakemake=={SNAKEMAKE_VERSION} failed: {tail}"
    if not exe.exists():
        return None, f"no snakemake at {exe}"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False, env=clean_env())
    if r.returncode != 0:
        return None, f"`snakemake --version` failed: {r.stderr.strip()[-300:]}"
    return exe, f"snakemake {r.stdout.strip()}"


def _snakemake_jobs(o: Outcome) -> int | None:
    m = re.search(r"^total\s+(\d+)", o.stdout + "\n" + o.stderr_tail, re.M)
    return int(m.group(1)) if m else None


# -- measurement ---------------------------------------------------------------------
def _load() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


def _plan_nodes(stdout: str) -> tuple[int, int]:
    """(plan nodes, distinct recipes) from the -j output of a dry run."""
    plan = json.loads(stdout)["plan"]
    return len(plan), len({n["recipe"] for n in plan})


def measure(runs: int = 5, *, cmx: str | None = None, snakemake: bool = True, install_snakemake: bool = True,
            snakemake_venv: Path = SNAKEMAKE_VENV, keep: Path | None = None, log: bool = True,
            shape: Shape = TREE, baseline_cmx: str | None = None) -> dict[str, Any]:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = min_runs(runs, 5, f"plan_10k ({shape.name})")
    cmx_bin = cmx_binary(cmx)
    work = keep or Path(tempfile.mkdtemp(prefix="cmx-bench-plan10k-"))
    work.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        if log:
            print(msg, file=sys.stderr)

    try:
        repo, home = work / "repo", work / "home"
        rmtree(repo)
        rmtree(home)
        t0 = time.perf_counter()
        n_recipes = shape.generate(repo)
        gen_s = time.perf_counter() - t0
        say(f"generated {n_recipes} recipes in {gen_s:.1f} s under {repo}")
        env = clean_env(CMX_HOME=str(home))
        checked(Command("add", [str(cmx_bin), "add", "repo", str(repo)], env, cwd=work))
        find = Command(FIND, [str(cmx_bin), "find", "script", f"--tags={shape.root_tags}"], env, cwd=work)
        cold = checked(find)  # the first command builds the index (YAML, schema, digests of 10k recipes)
        say(f"cold index build (first `cmx find`): {cold.seconds:.2f} s")
        plan = Command(PLAN, [str(cmx_bin), "run", "script", f"--tags={shape.root_tags}", "--dry-run", "-j"], env,
                       cwd=work, keep_stdout=True)
        first = checked(plan)  # the first plan, on the warm index
        nodes, recipes = _plan_nodes(first.stdout)
        say(f"first dry run (warm index): {first.seconds:.2f} s, {nodes} plan nodes")
        floor = Command(FLOOR, [str(venv_python(cmx_bin)), "-c", "pass"], clean_env())
        for c in (find, floor):
            checked(c)  # warm

        # CPU seconds (user + system of the child, from getrusage(RUSAGE_CHILDREN) deltas) of each timed
        # command: much less inflated than wall time by other processes on a shared machine
        cpu: dict[str, list[float]] = {PLAN: [], BASELINE: [], FIND: [], FLOOR: [], SNAKE: []}

        def checker(label: str, plan_size: bool = True) -> Callable[[Outcome], None]:
            def check(o: Outcome) -> None:
                if plan_size and _plan_nodes(o.stdout)[0] != nodes:
                    raise RuntimeError("the warm plan differs in size from the cold one")
                cpu[label].append(o.cpu_seconds)

            return check

        timers = [(PLAN, command_timer(plan, checker(PLAN))), (FIND, command_timer(find, checker(FIND, False))),
                  (FLOOR, command_timer(floor, checker(FLOOR, False)))]
        if baseline_cmx:  # another cmx (e.g. an older commit) on the same repository, in its own home
            base_env = clean_env(CMX_HOME=str(work / "home-baseline"))
            rmtree(work / "home-baseline")
            checked(Command("add", [baseline_cmx, "add", "repo", str(repo)], base_env, cwd=work))
            checked(Command("index", [baseline_cmx, "find", "script", f"--tags={shape.root_tags}"], base_env, cwd=work))
            base = Command(BASELINE, [baseline_cmx, "run", "script", f"--tags={shape.root_tags}", "--dry-run", "-j"],
                           base_env, cwd=work, keep_stdout=True)
            checked(base)
            timers.append((BASELINE, command_timer(base, checker(BASELINE))))
        snake_note, snake_jobs = "not measured (--no-snakemake)", None
        if snakemake:
            exe, info = snakemake_binary(snakemake_venv, install_snakemake)
            if exe is None:
                snake_note = f"not measured ({info}); reference: {REFERENCE_SNAKEMAKE}, not re-measured"
            else:
                sdir = work / "snakemake"
                sdir.mkdir(exist_ok=True)
                (sdir / "Snakefile").write_text(shape.snakefile(sdir))
                snake = Command(SNAKE, [str(exe), "-n", "--cores", "1", "-q"], clean_env(), cwd=sdir,
                                keep_stdout=True)
                # one untimed run without -q prints the job stats (the job count)
                counted = checked(Command("count", snake.argv[:-1], snake.env, cwd=sdir, keep_stdout=True))
                snake_jobs = _snakemake_jobs(counted)
                checked(snake)  # warm
                snake_note = f"{info}, `snakemake -n --cores 1 -q`, {snake_jobs} jobs"
                timers.append((SNAKE, command_timer(snake, checker(SNAKE, False))))
        say(f"timing {runs} interleaved rounds of: {', '.join(t[0] for t in timers)}")
        load_before = _load()
        stats = interleave(timers, runs)
        load_after = _load()
    finally:
        if keep is None:
            rmtree(work)
    res: dict[str, Any] = {
        "benchmark": "plan_10k", "shape": shape.name, "runs": runs, "machine": machine(), "recipes": n_recipes,
        "plan_nodes": nodes, "plan_distinct_recipes": recipes, "generate_s": round(gen_s, 2),
        "cold_index_ms": round(cold.seconds * 1000, 1),
        "first_plan_ms": round(first.seconds * 1000, 1), "series": stats_json(stats),
        "snakemake": snake_note, "snakemake_jobs": snake_jobs, "target_plan_s": TARGET_S,
        "plan_minus_find_ms": round((stats[PLAN].median - stats[FIND].median) * 1000, 1),
        "loadavg_1m_before_after": [load_before, load_after],  # other work on the machine, 1-minute average
    }
    res["plan_cpu_ms"] = round(statistics.median(cpu[PLAN]) * 1000, 1)  # what the issue counts ("s of CPU")
    res["plan_wall_ms"] = round(stats[PLAN].median * 1000, 1)  # (also in series) beside the CPU median
    # every timed command's CPU samples, median and range, by the labels of "series"
    res["cpu_series"] = {label: {"samples_ms": [round(x * 1000, 1) for x in xs],
                                 "median_ms": round(statistics.median(xs) * 1000, 1),
                                 "min_ms": round(min(xs) * 1000, 1), "max_ms": round(max(xs) * 1000, 1)}
                         for label, xs in cpu.items() if xs}
    if BASELINE in stats:
        res["baseline_cmx"] = baseline_cmx
        res["ratio_cmx_over_baseline"] = round(stats[PLAN].median / stats[BASELINE].median, 3)
        res["baseline_cpu_ms"] = round(statistics.median(cpu[BASELINE]) * 1000, 1)
        res["ratio_cpu_cmx_over_baseline"] = round(statistics.median(cpu[PLAN]) / statistics.median(cpu[BASELINE]), 3)
    if SNAKE in stats:
        res["ratio_cmx_over_snakemake"] = round(stats[PLAN].median / stats[SNAKE].median, 3)
    return res


def report_lines(res: dict[str, Any]) -> list[str]:
    s = {k: Stats(v["label"], [x / 1000 for x in v["samples_ms"]]) for k, v in res["series"].items()}
    out = [f"plan 10k, {res.get('shape', 'tree')} shape: {res['recipes']} recipes, {res['plan_nodes']} plan nodes "
           f"({res['plan_distinct_recipes']} distinct recipes); {res['runs']} interleaved rounds  "
           f"[{res['machine']['cpus']} cpus, {res['machine']['python']}, cmx {res['machine']['cmx_commit']}; "
           f"load average {res['loadavg_1m_before_after'][0]:.2f} before the rounds, "
           f"{res['loadavg_1m_before_after'][1]:.2f} after]",
           f"  cold index build (first `cmx find`, {res['recipes']} recipes): {res['cold_index_ms'] / 1000:.2f} s; "
           f"first dry run after it: {res['first_plan_ms'] / 1000:.2f} s"]
    cpu = res.get("cpu_series", {})
    out += [f"  {st.line('ms')}" + (f"; CPU median {cpu[k]['median_ms']:.1f} ms (min {cpu[k]['min_ms']:.1f}, "
                                    f"max {cpu[k]['max_ms']:.1f})" if k in cpu else "")
            for k, st in s.items()]
    out.append(f"  plan - find (planning + plan output, beyond start-up and index load): "
               f"{res['plan_minus_find_ms']:.0f} ms")
    if "ratio_cmx_over_snakemake" in res:
        out.append(f"  ratio cmx plan / snakemake -n (medians): {res['ratio_cmx_over_snakemake']:.3f}  "
                   f"({res['snakemake']})")
    else:
        out.append(f"  snakemake: {res['snakemake']}")
    if "plan_cpu_ms" in res:
        out.append(f"  warm dry run, median of {res['runs']} rounds: wall {res['series'][PLAN]['median_ms'] / 1000:.3f} s, "
                   f"CPU (user + system) {res['plan_cpu_ms'] / 1000:.3f} s"
                   + (f"; baseline {res['baseline_cpu_ms'] / 1000:.3f} s CPU "
                      f"(ratio {res['ratio_cpu_cmx_over_baseline']:.3f})" if "ratio_cpu_cmx_over_baseline" in res else
                      f"; baseline {res['baseline_cpu_ms'] / 1000:.2f} s CPU" if "baseline_cpu_ms" in res else ""))
    if "ratio_cmx_over_baseline" in res:
        out.append(f"  ratio cmx plan / baseline plan (wall medians): {res['ratio_cmx_over_baseline']:.3f}  "
                   f"(baseline: {res['baseline_cmx']})")
    out.append(f"  target (issue): warm dry-run plan of 10k nodes <= {res['target_plan_s']:.0f} s")
    return out


def main(argv: list[str] | None = None, shape: Shape = TREE, doc: str | None = __doc__) -> int:
    """The command line of this benchmark, for any shape (plan_layered.py calls it with its own)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds (>= 5; default 5)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--cmx", help="the cmx entry point (default: .venv/bin/cmx of this checkout)")
    ap.add_argument("--no-snakemake", action="store_true", help="skip the Snakemake comparison")
    ap.add_argument("--no-install", action="store_true", help="use snakemake only if already installed")
    ap.add_argument("--snakemake-venv", type=Path, default=SNAKEMAKE_VENV)
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it (default: a temp dir)")
    ap.add_argument("--baseline-cmx", help="another cmx entry point (e.g. an older commit) timed in the same rounds")
    a = ap.parse_args(argv)
    res = measure(a.runs, cmx=a.cmx, snakemake=not a.no_snakemake, install_snakemake=not a.no_install,
                  snakemake_venv=a.snakemake_venv, keep=a.keep, shape=shape, baseline_cmx=a.baseline_cmx)
    emit(res, a.json, report_lines(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
