"""get-ml-model-smollm2: where the flexbench package lives (it runs in the benchmark venv)."""

from cmx.sources import flexbench_src


def preprocess(i):
    src = flexbench_src()
    if not (src / "flexbench" / "model_prep.py").is_file():
        return {"return": 1, "error": f"flexbench package not found next to the recipes (looked in {src})"}
    i["env"]["CMX_FLEXBENCH_SRC"] = str(src)
    return {"return": 0}
