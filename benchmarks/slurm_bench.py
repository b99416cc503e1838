"""--executor=slurm on a real Slurm cluster (docs/slurm.md): overhead per job and a 1,000-point array.

* overhead per job: ``cmx run script --tags=print,hello-world --name=<new> --executor=slurm -j`` (plan,
  ship the plan through submitit, the job runs it without planning, wait, answer) against a bare
  ``sbatch --wrap true`` waited for with the same poll (squeue every 0.2 s), interleaved, side by side;
  ``sbatch --wait --wrap true`` is shown too (Slurm's own wait polls more slowly);
* a 1,000-point experiment: planning every point and submitting them as one job array
  (``--detach``, tasks held, then cancelled: the figure is plan + submit), up to three times, each a
  new experiment; the median.

Skips (exit 0, with the reason) when no Slurm answers here (start one with .ci/slurm-up.sh).
Run: ``python benchmarks/slurm_bench.py [--runs N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stats, clean_env, cmx_binary, machine  # noqa: E402

CMX = "cmx --executor=slurm"
BARE = "sbatch --wrap true (same poll)"
BARE_CMX = "sbatch --wrap 'cmx run ...' (same poll)"
LOCAL = "cmx run (local, no Slurm)"
WAIT = "sbatch --wait --wrap true"


def unavailable() -> str | None:
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no Slurm here (sinfo/sbatch not found): start one with .ci/slurm-up.sh (docs/slurm.md)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return f"slurmctld is not answering ({proc.stderr.strip() or 'no nodes'}): .ci/slurm-up.sh"
    return None


def _bare(poll: bool, wrap: str = "true", env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    if not poll:
        subprocess.run(["sbatch", "--wait", "-Q", "-o", "/dev/null", "--wrap", wrap], check=True,
                       stdout=subprocess.DEVNULL, env=env)
        return time.perf_counter() - t0
    jid = subprocess.run(["sbatch", "--parsable", "-o", "/dev/null", "--wrap", wrap], check=True,
                         capture_output=True, text=True, env=env).stdout.strip().split(";")[0]
    while True:
        state = subprocess.run(["squeue", "-h", "--states=all", "-j", jid, "-o", "%T"], capture_output=True,
                               text=True, check=False).stdout.strip()
        if state in ("COMPLETED", "FAILED", "CANCELLED"):
            return time.perf_counter() - t0
        time.sleep(0.2)


def measure(runs: int = 5) -> dict[str, Any]:
    reason = unavailable()
    if reason:
        return {"skipped": reason}
    cmx = str(cmx_binary(None))
    series: dict[str, list[float]] = {CMX: [], BARE: [], BARE_CMX: [], LOCAL: [], WAIT: []}
    with tempfile.TemporaryDirectory(prefix="cmx-slurm-bench-") as tmp:
        env = clean_env(CMX_HOME=tmp)
        subprocess.run([cmx, "run", "script", "--tags=detect,os", "-j"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the probe, cached
        for r in range(runs):
            t0 = time.perf_counter()
            subprocess.run([cmx, "run", "script", "--tags=print,hello-world", f"--name=b{r}-{time.time_ns()}",
                            "--executor=slurm", "-j", "-q"], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            series[CMX].append(time.perf_counter() - t0)
            series[BARE].append(_bare(poll=True))
            # the same work as a hand-written job: the run, no plan shipped, no submitit, no answer back
            series[BARE_CMX].append(_bare(True, f"{cmx} run script --tags=print,hello-world --name=w{r}-{time.time_ns()} -j -q",
                                          env))
            t0 = time.perf_counter()
            subprocess.run([cmx, "run", "script", "--tags=print,hello-world", f"--name=l{r}-{time.time_ns()}", "-j",
                            "-q"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            series[LOCAL].append(time.perf_counter() - t0)
            series[WAIT].append(_bare(poll=False))
        array_times: list[float] = []
        array_ids: list[str] = []
        err: list[str] = []
        ok = True
        for r in range(min(runs, 3)):  # a new experiment each time (its own names): nothing done yet
            t0 = time.perf_counter()
            proc = subprocess.run([cmx, "run", "experiment", "--tags=print,hello-world",
                                   f"--explore.name={1000 * r + 1}:{1000 * r + 1000}:1", "--executor=slurm",
                                   "--slurm.extra=--hold", "--detach", "-j", "-q"], env=env,
                                  capture_output=True, text=True, check=False)
            array_times.append(time.perf_counter() - t0)
            points = json.loads(proc.stdout or "{}").get("points", [])
            ids = sorted({str(p.get("slurm_job_id") or "").split("_")[0] for p in points} - {""})
            array_ids += ids
            ok = ok and proc.returncode == 0 and len(points) == 1000
            err = err or (proc.stderr.strip().splitlines()[-1:] if proc.returncode else [])
            for jid in ids:
                subprocess.run(["scancel", jid], check=False)
    stats = {k: Stats(k, v) for k, v in series.items()}
    array = Stats("array", array_times)
    return {
        "series": {k: s.to_json() for k, s in stats.items()},
        "ratio_cmx_over_bare": stats[CMX].median / stats[BARE].median,
        "ratio_cmx_over_bare_cmx": stats[CMX].median / stats[BARE_CMX].median,
        "overhead_s": stats[CMX].median - stats[LOCAL].median,
        "ratio_cmx_over_sbatch_wait": stats[CMX].median / stats[WAIT].median,
        "array_1000_s": array.median, "array_1000_runs_s": [round(t, 3) for t in array_times],
        "array_ok": ok, "array_error": err, "array_ids": array_ids,
        "machine": machine(),
    }


def report_lines(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return [f"slurm_bench: skipped: {r['skipped']}"]
    s = r["series"]
    lines = ["slurm_bench: one job, submit to answer (interleaved rounds)"]
    for name in (CMX, BARE_CMX, LOCAL, BARE, WAIT):
        lines.append(f"  {name:<40} median {s[name]['median_ms'] / 1000:.2f} s  "
                     f"(min {s[name]['min_ms'] / 1000:.2f}, max {s[name]['max_ms'] / 1000:.2f}, n {s[name]['n']})")
    lines.append(f"  ratio cmx --executor=slurm / the same run as a bare sbatch job: {r['ratio_cmx_over_bare_cmx']:.2f}x"
                 "   (goal <= 1.5x)")
    lines.append(f"  what Slurm adds to a local run: {r['overhead_s']:.2f} s;  a bare sbatch --wrap true: "
                 f"{s[BARE]['median_ms'] / 1000:.2f} s  (ratio {r['ratio_cmx_over_bare']:.2f}x of the empty job)")
    lines.append(f"  ratio cmx / sbatch --wait:          {r['ratio_cmx_over_sbatch_wait']:.2f}x")
    runs = ", ".join(f"{t:.2f}" for t in r["array_1000_runs_s"])
    lines.append(f"  1,000-point experiment, plan + submit as one array: median {r['array_1000_s']:.2f} s ({runs})"
                 "   (goal <= 5 s)" + ("" if r["array_ok"] else f"  FAILED: {r['array_error']}"))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = measure(a.runs)
    print("\n".join(report_lines(r)), file=sys.stderr if a.json else sys.stdout)
    if a.json:
        print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
