#!/usr/bin/env bash
# One FlexBench run: flexbench.main starts one LoadGen process per mode.
set -e
export TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="${CMX_FLEXBENCH_SRC}${PYTHONPATH:+:${PYTHONPATH}}"
code=0
"${CMX_VENV_PYTHON}" -m flexbench.main "${CMX_FLEXBENCH_CONFIG}" || code=$?
# 3: the benchmark failed and result.json records why; postprocess reports "benchmark failed: <reason>"
if [ "${code}" -ne 0 ] && [ "${code}" -ne 3 ]; then exit "${code}"; fi
