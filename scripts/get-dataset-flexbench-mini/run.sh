#!/usr/bin/env bash
set -e
f="${CMX_RECIPE_PATH}/flexbench-mini.jsonl"
echo "CMX_DATASET_PATH=$f" >> tmp-run-env.out
echo "CMX_DATASET_SAMPLES=$(grep -c . "$f")" >> tmp-run-env.out
echo "CMX_DATASET_NAME=flexbench-mini" >> tmp-run-env.out
