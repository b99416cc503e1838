#!/usr/bin/env bash
# Runs the workload under the chosen power backend (flexbench/power/main.py, in the benchmark venv).
# A failure the collector explains is written to the outcome file and reported by postprocess;
# anything else (a crash) fails this script with the collector's exit code.
export PYTHONPATH="${CMX_COLLECT_POWER_SRC}${PYTHONPATH:+:${PYTHONPATH}}"
status=0
"${CMX_VENV_PYTHON}" -m flexbench.power.main "${CMX_COLLECT_POWER_CONFIG}" || status=$?
if [ "${status}" != 0 ] && [ ! -s "${CMX_COLLECT_POWER_OUTCOME}" ]; then
  exit "${status}"
fi
