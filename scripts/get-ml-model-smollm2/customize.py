"""get-ml-model-smollm2: where the flexbench package lives (it runs in the benchmark venv)."""

from pathlib import Path


def preprocess(i):
    src = Path(i["recipe_path"]).resolve().parents[1]
    if not (src / "flexbench" / "model_prep.py").is_file():
        return {"return": 1, "error": f"flexbench package not found next to the recipes (looked in {src})"}
    i["env"]["CMX_FLEXBENCH_SRC"] = str(src)
    return {"return": 0}
