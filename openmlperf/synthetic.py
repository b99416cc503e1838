"""Build an MLPerf results tree in the round layout from real sample logs, for tests and
benchmarks: every sample result (``SUBMITTER/SYSTEM/BENCHMARK/SCENARIO``) is placed ``copies``
times under a varied system name. Files are hard-linked when the file system allows it
(they are read-only inputs), else copied."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

_LLM_ACCURACY = ("{'rouge1': 44.4312, 'rouge2': 22.0352, 'rougeL': 28.6162, 'rougeLsum': 42.0, "
                 "'gen_len': 28167, 'gen_num': 24576, 'tokens_per_sample': 293.7}\nhash=0\n")


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def sample_results(samples: Path) -> list[tuple[str, str, str, str, Path]]:
    out = []
    for detail in sorted(samples.glob("*/*/*/*/mlperf_log_detail.txt")):
        scen = detail.parent
        out.append((scen.parents[2].name, scen.parents[1].name, scen.parent.name, scen.name, scen))
    return out


def build_round(samples: Path, root: Path, copies: int = 1, *, layout: str = "v5", division: str = "closed",
                with_accuracy: bool = True) -> int:
    """Write ``copies`` × the sample results under ``root/<division>/``; returns the result count.
    ``layout`` ``v5`` puts measurements in ``measurements/``, ``v6`` in the scenario folder."""
    n = 0
    for sub, system, bench, scen_name, scen in sample_results(samples):
        desc = json.loads((scen.parents[1] / "system.json").read_text(encoding="utf-8"))
        for i in range(copies):
            sysname = system if copies == 1 else f"{system}_{i:04d}"
            sdir = root / division / sub
            sys_json = sdir / "systems" / f"{sysname}.json"
            if not sys_json.exists():
                sys_json.parent.mkdir(parents=True, exist_ok=True)
                sys_json.write_text(json.dumps({**desc, "division": division}), encoding="utf-8")
            res = sdir / "results" / sysname / bench / scen_name
            for name in ("mlperf_log_detail.txt", "mlperf_log_summary.txt"):
                if (scen / name).is_file():
                    _place(scen / name, res / "performance" / "run_1" / name)
            meas = {"input_data_types": "fp16", "retraining": "no", "starting_weights_filename": "x",
                    "weight_data_types": "fp8" if "llama" in bench or "mixtral" in bench else "int8",
                    "weight_transformations": "none"}
            if layout == "v6":
                (res / "measurements.json").write_text(json.dumps(meas), encoding="utf-8")
            else:
                mdir = sdir / "measurements" / sysname / bench / scen_name
                mdir.mkdir(parents=True, exist_ok=True)
                (mdir / f"{sysname}_impl.json").write_text(json.dumps(meas), encoding="utf-8")
            if with_accuracy and any(k in bench for k in ("llama", "gptj", "mixtral")):
                acc = res / "accuracy" / "accuracy.txt"
                acc.parent.mkdir(parents=True, exist_ok=True)
                acc.write_text(_LLM_ACCURACY, encoding="utf-8")
            n += 1
    return n
