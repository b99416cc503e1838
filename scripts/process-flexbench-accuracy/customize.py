"""process-flexbench-accuracy: run flexbench.accuracy in the benchmark venv and read its answer."""

import json
import subprocess
from pathlib import Path
from cmx.sources import flexbench_src


def preprocess(i):
    env = i["env"]
    missing = [f"--{n}" for n, k in (("accuracy_log", "CMX_FLEXBENCH_ACCURACY_LOG"), ("dataset_path", "CMX_FLEXBENCH_ACCURACY_DATASET"),
                                     ("tokenizer", "CMX_FLEXBENCH_ACCURACY_TOKENIZER")) if not env.get(k)]
    if missing:
        return {"return": 1, "error": f"missing input(s): {', '.join(missing)}"}
    src = flexbench_src()
    for k in ("CMX_FLEXBENCH_ACCURACY_LOG", "CMX_FLEXBENCH_ACCURACY_DATASET", "CMX_FLEXBENCH_ACCURACY_TOKENIZER",
              "CMX_FLEXBENCH_ACCURACY_TXT"):
        if env.get(k):  # relative to where the user ran cmx
            env[k] = str(Path(env[k]).expanduser().resolve())
    cmd = [env["CMX_VENV_PYTHON"], "-m", "flexbench.accuracy", "--log", env["CMX_FLEXBENCH_ACCURACY_LOG"],
           "--dataset", env["CMX_FLEXBENCH_ACCURACY_DATASET"], "--tokenizer", env["CMX_FLEXBENCH_ACCURACY_TOKENIZER"],
           "--seed", str(env["CMX_FLEXBENCH_ACCURACY_SEED"])]
    if env.get("CMX_FLEXBENCH_ACCURACY_SAMPLES"):
        cmd += ["--size", str(env["CMX_FLEXBENCH_ACCURACY_SAMPLES"])]
    if env.get("CMX_FLEXBENCH_ACCURACY_TXT"):
        cmd += ["--out", env["CMX_FLEXBENCH_ACCURACY_TXT"]]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**__import__("os").environ, "PYTHONPATH": str(src), "TRANSFORMERS_VERBOSITY": "error"})
    i["logger"].info("flexbench.accuracy stderr:\n%s", proc.stderr[-4000:])
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"return": 1, "error": f"accuracy scoring failed: {tail}"}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    env["CMX_FLEXBENCH_ACCURACY_TXT"] = res["accuracy_txt"]
    for k in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        env[f"CMX_FLEXBENCH_{k.upper()}"] = str(res[k])
    env["CMX_FLEXBENCH_TOKENS_PER_SAMPLE"] = str(res["tokens_per_sample"])
    return {"return": 0}
