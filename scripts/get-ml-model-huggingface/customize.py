"""get-ml-model-huggingface: turn the variation into a model_prep source string."""

from pathlib import Path
from cmx.sources import flexbench_src


def preprocess(i):
    env = i["env"]
    kind = env.get("CMX_ML_MODEL_KIND")
    if kind == "hub":
        rev = env.get("CMX_ML_MODEL_REVISION")
        source = f"hub:{env['CMX_ML_MODEL_ID']}" + (f"@{rev}" if rev else "")
    elif kind == "local":
        path = Path(env["CMX_ML_MODEL_LOCAL_PATH"]).expanduser()
        if not (path / "config.json").is_file():
            return {"return": 1, "error": f"not a HuggingFace model folder (no config.json): {path}"}
        source = f"local:{path.resolve()}"
        env.setdefault("CMX_ML_MODEL_ID", path.name)
    elif kind == "gguf":
        path = Path(env["CMX_ML_MODEL_GGUF"]).expanduser()
        if not path.is_file():
            return {"return": 1, "error": f"GGUF file not found: {path}"}
        source = f"gguf:{path.resolve()}"
        env.setdefault("CMX_ML_MODEL_ID", path.stem)
    else:
        return {"return": 1, "error": "which model? add _model.ORG/NAME, _local.PATH or _gguf.FILE"}
    env["CMX_ML_MODEL_SOURCE"] = source
    env["CMX_FLEXBENCH_SRC"] = str(flexbench_src())
    return {"return": 0}
