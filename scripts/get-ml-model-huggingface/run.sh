#!/usr/bin/env bash
# Convert the packaged GGUF into a HF folder (./model) and describe it.
set -e
export PYTHONPATH="${CMX_FLEXBENCH_SRC}${PYTHONPATH:+:${PYTHONPATH}}"
"${CMX_VENV_PYTHON}" -m flexbench.model_prep "${CMX_ML_MODEL_SOURCE}" --out "$PWD" > model_prep.out
"${CMX_VENV_PYTHON}" - <<'PY' >> tmp-run-env.out
import json
info = json.load(open("model_info.json"))
print("CMX_ML_MODEL_PATH=" + info["path"])
print("CMX_ML_MODEL_TOKENIZER_PATH=" + (info.get("tokenizer_path") or info["path"]))
print("CMX_ML_MODEL_PARAMETERS=" + str(info.get("parameters") or ""))
print("CMX_ML_MODEL_DTYPE=" + str(info.get("dtype") or "float32"))
print("CMX_ML_MODEL_CONVERT_S=" + str(round(info.get("gguf_load_s", 0) + info.get("convert_save_s", 0), 2)))
print("CMX_ML_MODEL_GGUF=" + str(info.get("gguf_file", "")))
print("CMX_ML_MODEL_REVISION=" + str(info.get("revision", "")))
PY
echo "CMX_ML_MODEL_INFO=$PWD/model_info.json" >> tmp-run-env.out
