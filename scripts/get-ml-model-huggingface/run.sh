#!/usr/bin/env bash
# Prepare the model folder in this entry (./model or a hub snapshot) and describe it.
set -e
export PYTHONPATH="${CMX_FLEXBENCH_SRC}${PYTHONPATH:+:${PYTHONPATH}}"
export TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1
"${CMX_VENV_PYTHON}" -m flexbench.model_prep "${CMX_ML_MODEL_SOURCE}" --out "$PWD" --env-out tmp-run-env.out > model_prep.out
