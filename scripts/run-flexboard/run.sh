#!/usr/bin/env bash
# FlexBoard in the foreground until Ctrl-C: cmx forwards SIGINT to this process group.
set -e
args=(--port "${CMX_FLEXBOARD_PORT}" --host "${CMX_FLEXBOARD_HOST}")
if [ -n "${CMX_DATASET_DIR:-}" ]; then args+=(--dataset_dir "${CMX_DATASET_DIR}"); fi
if [ -n "${CMX_FLEXBOARD_DATA:-}" ]; then args+=(--data "${CMX_FLEXBOARD_DATA}"); fi
exec "${CMX_PYTHON:-python3}" -u -m flexboard.app.serve "${args[@]}"
