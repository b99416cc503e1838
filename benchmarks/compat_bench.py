"""CM and MLC recipe repositories through cmx, side by side with the tools they were written for.

Two series, each interleaved round by round (the order rotates) so machine noise hits both alike:

* **A cached foreign recipe**: ``cmx run script --tags=cm:get,python3 -j`` (cm4mlops' ``get-python3``,
  ``cache: true``), with the replay memo and with ``CMX_NO_MEMO=1`` (index, plan, keys, cache lookup),
  against ``cm run script --tags=get,python3 --quiet`` (cmind 4.2.0, full cm4mlops registered, its
  entry found by tags). Every run is checked to be a hit. Target (issue 15): cmx <= 0.4x cm.
* **A cold index of mlperf-automations**: ``cmx find script --tags=detect,os`` in a home whose index is
  removed before each run (wall and CPU), against ``mlc find script --tags=detect,os`` (mlcflow 1.3.8,
  which reads every meta on every call). Goal (issue 15): <= 5 s.

The cmind venv and the cm4mlops tree come from ``cm_baseline.py`` (``--cm-repo`` or
``CMX_BENCH_CM_REPO``; mode ``upstream``); mlcflow is pip-installed into ``<workdir>/mlc-venv``;
mlperf-automations is a checkout given with ``--mlc-repo`` or ``CMX_BENCH_MLC_REPO``. A side whose
repository or tool is missing is reported as not measured.

Run: ``python benchmarks/compat_bench.py [--runs 10] [--json] [--cm-repo DIR] [--mlc-repo DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    CM_WORKDIR, Command, Stats, checked, clean_env, cmx_binary, emit, interleave, machine,
    min_runs, ratio, rmtree, stats_json,
)

MLCFLOW_VERSION = "1.3.8"
MLC_REPO_ENV = "CMX_BENCH_MLC_REPO"
TARGET_RATIO = 0.4
TARGET_COLD_S = 5.0
CMX_CACHED, CMX_ENGINE, CM_CACHED = "cmx run cm:get,python3 (cached)", "same, CMX_NO_MEMO=1", "cm run get,python3 (cached)"
CMX_COLD, MLC_FIND = "cmx find, cold index of mlperf-automations", "mlc find (mlcflow reads every meta)"


def _cm_side(cm_repo: Path | None, workdir: Path) -> tuple[Any, str]:
    import cm_baseline

    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        setup = cm_baseline.prepare_cm(workdir, cm_repo, mode="upstream")
    if setup is None:
        return None, (said.getvalue().strip().splitlines() or ["cm_baseline.prepare_cm failed"])[0]
    return setup, f"cmind {cm_baseline.CMIND_VERSION}, cm4mlops {cm_baseline.CM4MLOPS_COMMIT[:8]}"


def _mlc_venv(workdir: Path) -> Path | None:
    vdir = workdir / "mlc-venv"
    py, mlc = vdir / "bin" / "python", vdir / "bin" / "mlc"
    if not mlc.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(vdir)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", f"mlcflow=={MLCFLOW_VERSION}"],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(f"pip install mlcflow=={MLCFLOW_VERSION} failed: {r.stderr[-500:]}", file=sys.stderr)
            return None
    return mlc


def _cm_entries(home: Path) -> int:
    return sum(1 for _ in (home / "repos" / "local" / "cache").glob("*/cm-cached-state.json"))


def measure_cached(runs: int, cmx: Path, cm_repo: Path | None, workdir: Path) -> dict[str, Any]:
    setup, note = _cm_side(cm_repo, workdir)
    if setup is None:
        return {"measured": False, "cm": note}
    tree = Path([p for p in json.loads((setup.home / "repos.json").read_text()) if "cm4mlops" in p][-1])
    home = Path(tempfile.mkdtemp(prefix="cmx-bench-compat-"))
    try:
        env = clean_env(CMX_HOME=str(home))
        checked(Command("add", [str(cmx), "add", "repo", str(tree), "--alias=cm"], env))
        run = [str(cmx), "run", "script", "--tags=cm:get,python3", "-j"]
        first = checked(Command("fill", run, env, keep_stdout=True))
        if json.loads(first.stdout)["new_env"].get("CM_PYTHON_BIN_WITH_PATH") is None:
            raise RuntimeError("cmx's get-python3 exported no CM_PYTHON_BIN_WITH_PATH")
        checked(Command("warm", run, env))
        cm_cmd = Command(CM_CACHED, [str(setup.cm), "run", "script", "--tags=get,python3", "--quiet"], setup.env(),
                         cwd=setup.cwd)
        checked(cm_cmd)  # fills cm's cache
        entries = _cm_entries(setup.home)

        def hit(cmd: Command) -> Any:
            def timer() -> float:
                o = checked(cmd)
                if cmd.keep_stdout and json.loads(o.stdout).get("cached") is not True:
                    raise RuntimeError(f"{cmd.label}: not a cache hit")
                return o.seconds
            return timer

        stats = interleave([
            (CMX_CACHED, hit(Command(CMX_CACHED, run, env, keep_stdout=True))),
            (CMX_ENGINE, hit(Command(CMX_ENGINE, run, {**env, "CMX_NO_MEMO": "1"}, keep_stdout=True))),
            (CM_CACHED, hit(cm_cmd)),
        ], runs)
        if _cm_entries(setup.home) != entries:
            raise RuntimeError("cm made new cache entries while timed: not a cache hit")
    finally:
        rmtree(home)
    return {"measured": True, "cm": note, "stats": stats_json(stats),
            "ratio_cmx_over_cm": round(ratio(stats[CMX_CACHED], stats[CM_CACHED]), 3),
            "ratio_engine_over_cm": round(ratio(stats[CMX_ENGINE], stats[CM_CACHED]), 3)}


def measure_cold(runs: int, cmx: Path, mlc_repo: Path | None, workdir: Path) -> dict[str, Any]:
    mlc_repo = mlc_repo or (Path(os.environ[MLC_REPO_ENV]) if os.environ.get(MLC_REPO_ENV) else None)
    if mlc_repo is None or not (mlc_repo / "script").is_dir():
        return {"measured": False, "mlc": f"no mlperf-automations checkout (--mlc-repo or {MLC_REPO_ENV})"}
    home = Path(tempfile.mkdtemp(prefix="cmx-bench-cold-"))
    cpu: list[float] = []
    try:
        env = clean_env(CMX_HOME=str(home))
        checked(Command("add", [str(cmx), "add", "repo", str(mlc_repo), "--alias=mlc"], env))
        find = Command(CMX_COLD, [str(cmx), "find", "script", "--tags=detect,os"], env)

        def cold() -> float:
            rmtree(home / "cache" / ".index")
            o = checked(find)
            cpu.append(o.cpu_seconds)
            return o.seconds

        timers = [(CMX_COLD, cold)]
        mlc = _mlc_venv(workdir)
        note = "not measured (mlcflow could not be installed)"
        if mlc is not None:
            mhome = workdir / "mlc-home"
            (mhome / "local").mkdir(parents=True, exist_ok=True)
            (mhome / "repos.json").write_text(json.dumps([str(mhome / "local"), str(mlc_repo.resolve())]))
            (workdir / "mlc-cwd").mkdir(exist_ok=True)
            mlc_cmd = Command(MLC_FIND, [str(mlc), "find", "script", "--tags=detect,os"],
                              clean_env(MLC_REPOS=str(mhome)), cwd=workdir / "mlc-cwd")
            checked(mlc_cmd)

            def mlc_find() -> float:
                return checked(mlc_cmd).seconds
            timers.append((MLC_FIND, mlc_find))
            note = f"mlcflow {MLCFLOW_VERSION}"
        stats = interleave(timers, runs)
    finally:
        rmtree(home)
    cpu.sort()
    out: dict[str, Any] = {"measured": True, "mlc": note, "stats": stats_json(stats),
                           "cmx_cold_cpu_median_s": round(cpu[len(cpu) // 2], 3)}
    if MLC_FIND in stats:
        out["ratio_cmx_over_mlc"] = round(ratio(stats[CMX_COLD], stats[MLC_FIND]), 3)
    return out


def report_lines(res: dict[str, Any]) -> list[str]:
    m = res["machine"]
    out = [f"compat_bench: {m['cpus']} CPUs, {m['python']}, load {m['loadavg_1m']}, cmx {m['cmx_commit']}"]
    c = res["cached"]
    if c["measured"]:
        for label in (CMX_CACHED, CMX_ENGINE, CM_CACHED):
            s = c["stats"][label]
            out.append(f"  {label}: median {s['median_ms']:.1f} ms (min {s['min_ms']:.1f}, max {s['max_ms']:.1f}; n={s['n']})")
        out.append(f"  ratio cmx/cm {c['ratio_cmx_over_cm']:.2f} (engine without memo / cm {c['ratio_engine_over_cm']:.2f}); "
                   f"target <= {TARGET_RATIO}x; {c['cm']}")
    else:
        out.append(f"  cached foreign recipe: not measured ({c['cm']})")
    k = res["cold"]
    if k["measured"]:
        for label, s in k["stats"].items():
            out.append(f"  {label}: median {s['median_ms'] / 1000:.2f} s (min {s['min_ms'] / 1000:.2f}, "
                       f"max {s['max_ms'] / 1000:.2f}; n={s['n']})")
        out.append(f"  cmx cold index CPU (user+sys): median {k['cmx_cold_cpu_median_s']:.2f} s; goal <= {TARGET_COLD_S} s wall"
                   + (f"; ratio cmx/mlc {k['ratio_cmx_over_mlc']:.2f}" if "ratio_cmx_over_mlc" in k else f"; mlc: {k['mlc']}"))
    else:
        out.append(f"  cold index: not measured ({k['mlc']})")
    return out


def measure(runs: int = 10, *, cmx: str | None = None, cm_repo: Path | None = None, mlc_repo: Path | None = None,
            workdir: Path = CM_WORKDIR) -> dict[str, Any]:
    runs = min_runs(runs, 5, "compat_bench")
    binary = cmx_binary(cmx)
    return {"machine": machine(), "runs": runs,
            "cached": measure_cached(runs, binary, cm_repo, workdir),
            "cold": measure_cold(runs, binary, mlc_repo, workdir.parent / "mlc"),
            "machine_after": {"loadavg_1m": machine()["loadavg_1m"]}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=10, help="interleaved rounds (>= 5; default 10)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cmx", help="the cmx entry point (default: .venv/bin/cmx of this checkout)")
    ap.add_argument("--cm-repo", type=Path, default=None, help="cm4mlops tree or git dir (default: $CMX_BENCH_CM_REPO)")
    ap.add_argument("--mlc-repo", type=Path, default=None, help=f"mlperf-automations checkout (default: ${MLC_REPO_ENV})")
    a = ap.parse_args(argv)
    res = measure(a.runs, cmx=a.cmx, cm_repo=a.cm_repo, mlc_repo=a.mlc_repo)
    emit(res, a.json, report_lines(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
