"""Wall time of a fully cached ``cmx run script --tags=detect,os -j``, side by side with CM.

Series, interleaved round by round (the order rotates each round) so machine
noise hits all of them alike:

* ``python -c pass`` with the interpreter of cmx's venv: the start-up floor;
* ``cmx run script --tags=detect,os -j``: the command as a user runs it, with
  an isolated ``CMX_HOME`` whose cache was filled (and memo written) by two
  untimed warm runs;
* the same with ``CMX_NO_MEMO=1``: the full engine (index, plan, cache lookup)
  on the same cache hit, i.e. what a cached run costs when the replay memo of
  ``cmx.fastpath`` cannot be used;
* ``cm run script --tags=detect,os --quiet`` (cmind 4.2.0) prepared by
  ``benchmarks/cm_baseline.py`` (mode ``cached``): a warm cache hit too.

Every timed run is checked to be a cache hit (cmx prints ``"cached": true``;
the cache entries' files keep their mtimes, so ``run.sh`` did not run again).
``PYTHONDONTWRITEBYTECODE`` is removed from every timed environment.

Run: ``python benchmarks/cached_run.py [--runs 20] [--json] [--cm-repo DIR | --no-cm]``.
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
    interleave, machine, min_runs, Outcome, ratio, rmtree, Stats, stats_json, venv_python,
)

TARGET_MS = 70.0
TARGET_RATIO = 0.4
RUN_ARGS = ["run", "script", "--tags=detect,os", "-j"]

FLOOR, CMX, ENGINE, CM = "python -c pass", "cmx run (cached)", "cmx run (cached, CMX_NO_MEMO=1)", "cm run (cached)"


def _store_files(home: Path) -> dict[Path, int]:
    store = home / "cache" / "store"
    return {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file() and not p.name.endswith(".lock")}


def _is_hit(o: Outcome) -> None:
    if '"cached": true' not in o.stdout:
        raise RuntimeError(f"cmx run was not a cache hit:\n{o.stdout[:400]}{o.stderr_tail}")


def _cm_timer(cm_repo: Path | None, workdir: Path, mode: str) -> tuple[Any, Any, str]:
    """(setup, timer, note) for the CM side; setup is None with the reason in note."""
    try:
        import cm_baseline
    except ImportError as exc:
        return None, None, f"cm_baseline.py not importable: {exc}"
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # keep stdout clean for --json; the reason goes in the note
            setup = cm_baseline.prepare_cm(workdir, cm_repo, mode)
    except Exception as exc:  # any failure to build the baseline must not stop the cmx figures
        return None, None, f"preparing cm failed: {type(exc).__name__}: {exc}"
    finally:
        sys.stderr.write(said.getvalue())
    if setup is None:
        why = (said.getvalue().strip().splitlines() or ["cm_baseline.prepare_cm failed"])[0]
        return None, None, why.removeprefix("cm baseline: ")

    def timer() -> float:
        return cm_baseline.time_cm_cached(setup, 1)[0]

    timer()  # one untimed warm run
    return setup, timer, f"cmind {cm_baseline.CMIND_VERSION}, cm4mlops {cm_baseline.CM4MLOPS_COMMIT[:8]}, mode {mode}"


def measure(runs: int = 20, *, cmx: str | None = None, cm_repo: Path | None = None, no_cm: bool = False,
            cm_workdir: Path = CM_WORKDIR, cm_mode: str = "cached", log: bool = True
            ) -> dict[str, Any]:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # also for cm_baseline, which copies os.environ
    runs = min_runs(runs, 10, "cached_run")
    cmx_bin = cmx_binary(cmx)
    home = Path(tempfile.mkdtemp(prefix="cmx-bench-cached-"))
    try:
        env = clean_env(CMX_HOME=str(home))
        run = Command(CMX, [str(cmx_bin), *RUN_ARGS], env, cwd=home, keep_stdout=True)
        engine = Command(ENGINE, run.argv, {**env, "CMX_NO_MEMO": "1"}, cwd=home, keep_stdout=True)
        floor = Command(FLOOR, [str(venv_python(cmx_bin)), "-c", "pass"], clean_env())
        checked(run)  # fills the cache (detect-os runs once)
        for c in (run, engine, floor):  # warm: writes the memo, the index, __pycache__
            checked(c)
        timers = [(FLOOR, command_timer(floor)), (CMX, command_timer(run, _is_hit)),
                  (ENGINE, command_timer(engine, _is_hit))]
        cm_note, cm_setup = "", None
        if no_cm:
            cm_note = "not measured (--no-cm)"
        else:
            cm_setup, cm_t, cm_note = _cm_timer(cm_repo, cm_workdir, cm_mode)
            if cm_t is None:
                cm_note = f"not measured ({cm_note})"
            else:
                timers.append((CM, cm_t))
        if log:
            print(f"timing {runs} interleaved rounds of: {', '.join(t[0] for t in timers)}", file=sys.stderr)
        before = _store_files(home)
        cm_before = _cm_entries(cm_setup)
        stats = interleave(timers, runs)
        hits_ok = before == _store_files(home)
        cm_hits_ok = bool(cm_before) and cm_before == _cm_entries(cm_setup) if cm_setup else None
    finally:
        rmtree(home)
    return _result(stats, runs, cm_note, hits_ok, cm_hits_ok)


def _cm_entries(setup: Any) -> dict[Path, int]:
    if setup is None:
        return {}
    import cm_baseline

    return {p: p.stat().st_mtime_ns for p in cm_baseline.cache_entries(setup)}


def _result(stats: dict[str, Stats], runs: int, cm_note: str, hits_ok: bool, cm_hits_ok: bool | None
            ) -> dict[str, Any]:
    res: dict[str, Any] = {
        "benchmark": "cached_run", "runs": runs, "machine": machine(), "series": stats_json(stats),
        "cmx_cache_untouched": hits_ok, "cm_cache_untouched": cm_hits_ok, "cm": cm_note,
        "targets": {"cmx_median_ms": TARGET_MS, "cmx_over_cm": TARGET_RATIO},
    }
    c, e, f = stats[CMX], stats[ENGINE], stats[FLOOR]
    res["cmx_minus_floor_ms"] = round((c.median - f.median) * 1000, 2)
    res["engine_minus_floor_ms"] = round((e.median - f.median) * 1000, 2)
    if CM in stats:
        res["ratio_cmx_over_cm"] = round(ratio(c, stats[CM]), 3)
        res["ratio_engine_over_cm"] = round(ratio(e, stats[CM]), 3)
    return res


def report_lines(res: dict[str, Any]) -> list[str]:
    s = {k: Stats(v["label"], [x / 1000 for x in v["samples_ms"]]) for k, v in res["series"].items()}
    out = [f"cached run: {res['runs']} interleaved rounds  [{res['machine']['cpus']} cpus, "
           f"{res['machine']['python']}, cmx {res['machine']['cmx_commit']}]"]
    out += [f"  {st.line()}" for st in s.values()]
    out.append(f"  cmx - floor: {res['cmx_minus_floor_ms']:.1f} ms;  engine - floor: {res['engine_minus_floor_ms']:.1f} ms")
    if "ratio_cmx_over_cm" in res:
        out.append(f"  ratio cmx/cm (medians): {res['ratio_cmx_over_cm']:.2f}  "
                   f"(engine without memo / cm: {res['ratio_engine_over_cm']:.2f});  cm: {res['cm']}")
    else:
        out.append(f"  cm: {res['cm']}")
    out.append(f"  every timed run a cache hit (entry files untouched): cmx {res['cmx_cache_untouched']}, "
               f"cm {res['cm_cache_untouched']}")
    out.append(f"  targets (issue): cmx <= {TARGET_MS:.0f} ms and <= {TARGET_RATIO}x cm")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_cmx_vs_cm_args(ap)
    ap.add_argument("--cm-mode", choices=["cached", "upstream"], default="cached",
                    help="cm_baseline mode; only 'cached' is a cache hit")
    a = ap.parse_args(argv)
    res = measure(a.runs, cmx=a.cmx, cm_repo=a.cm_repo, no_cm=a.no_cm, cm_workdir=a.cm_workdir,
                  cm_mode=a.cm_mode)
    emit(res, a.json, report_lines(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
