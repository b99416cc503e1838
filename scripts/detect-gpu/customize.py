"""detect-gpu: list the GPUs (state `gpus`) and summarise device 0 in CMX_GPU_* env."""

import os
import sys

from cmx.execute.customize import load_source

HERE = os.path.dirname(os.path.abspath(__file__))


def _helper(name):
    """A helper module next to this file, compiled from source (no __pycache__ in the recipe)."""
    return load_source(os.path.join(HERE, f"{name}.py"))


def preprocess(i):
    parse, query = _helper("gpu_parse"), _helper("gpu_query")
    # torch is asked in the interpreter the workflow uses (--python, or CMX_PYTHON), else in cmx's own
    env = i["env"]
    python = (env.get("CMX_PYTHON_BIN_WITH_PATH") or env.get("CMX_PYTHON") or os.environ.get("CMX_PYTHON")
              or sys.executable)
    gpus, notes = query.detect(parse, python)
    i["state"]["gpus"] = gpus
    env.update(parse.summary_env(gpus))
    env["CMX_GPU_SOURCE"] = ",".join(sorted({g["source"] for g in gpus})) or "none"
    env["CMX_GPU_PROBES"] = "; ".join(notes)
    i["logger"].info("GPU probes: %s", env["CMX_GPU_PROBES"])
    return {"return": 0}
