"""get-dataset-openorca: sample a local OpenOrca-format file into dataset.jsonl in the entry."""

import subprocess
from pathlib import Path


def preprocess(i):
    env = i["env"]
    src = env.get("CMX_DATASET_SOURCE")
    if not src:
        return {"return": 1, "error": "give --path=FILE (parquet, pkl, json or jsonl in the OpenOrca format); "
                                      "no dataset is downloaded"}
    path = Path(src).expanduser().resolve()  # relative to where the user ran cmx
    if not path.is_file():
        return {"return": 1, "error": f"dataset file not found: {path}"}
    out = Path(i["run_path"]) / "dataset.jsonl"
    proc = subprocess.run([env["CMX_VENV_PYTHON"], str(Path(i["recipe_path"]) / "sample.py"), str(path), str(out),
                           str(env.get("CMX_DATASET_SIZE") or 0), str(env["CMX_DATASET_SEED"])],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"return": 1, "error": f"cannot read {path}: {reason}"}
    env["CMX_DATASET_PATH"] = str(out)
    env["CMX_DATASET_SAMPLES"] = proc.stdout.strip()
    env["CMX_DATASET_NAME"] = "openorca"
    return {"return": 0}
