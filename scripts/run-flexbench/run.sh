#!/usr/bin/env bash
# One FlexBench run: flexbench.main starts one LoadGen process per mode.
set -e
export TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="${CMX_FLEXBENCH_SRC}${PYTHONPATH:+:${PYTHONPATH}}"
"${CMX_VENV_PYTHON}" -m flexbench.main "${CMX_FLEXBENCH_CONFIG}"
