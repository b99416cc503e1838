#!/usr/bin/env bash
# Install the requirement that customize.py prepared, with the venv's own pip.
# Options come from separate env values into an array: nothing is evaluated.
set -uo pipefail

python="${CMX_VENV_PYTHON}"
req="${CMX_PIP_REQUIREMENT}"
where="venv '${CMX_VENV_NAME}' (${CMX_VENV_PATH})"

if [ -n "${CMX_PIP_PINNED:-}" ]; then
  echo "note: ${CMX_PIP_PROJECT} pinned to ${CMX_PIP_PINNED} by default (no --version given)"
fi
if [ "${CMX_PIP_SATISFIED}" = "yes" ]; then
  echo "${CMX_PIP_PROJECT} ${CMX_PIP_FOUND_VERSION} is already installed in ${where}; not reinstalling"
  exit 0
fi

args=(-m pip install --no-input --disable-pip-version-check)
[ "${CMX_PIP_NO_DEPS:-no}" = "yes" ] && args+=(--no-deps)
[ "${CMX_PIP_NO_INDEX:-no}" = "yes" ] && args+=(--no-index)
[ -n "${CMX_PIP_INDEX_URL:-}" ] && args+=(--index-url "${CMX_PIP_INDEX_URL}")
[ -n "${CMX_PIP_EXTRA_INDEX_URL:-}" ] && args+=(--extra-index-url "${CMX_PIP_EXTRA_INDEX_URL}")
[ -n "${CMX_PIP_FIND_LINKS:-}" ] && args+=(--find-links "${CMX_PIP_FIND_LINKS}")
args+=("${req}")

if [ -n "${CMX_PIP_FOUND_VERSION:-}" ]; then
  echo "${CMX_PIP_PROJECT} ${CMX_PIP_FOUND_VERSION} is in ${where} but ${req} is asked for"
fi
echo "installing ${req} into ${where}"
echo "+ ${python} ${args[*]}"
"${python}" "${args[@]}" < /dev/null 2>&1 | tee pip.log
code=${PIPESTATUS[0]}
# postprocess turns a failure into one clear message
echo "CMX_PIP_EXIT_CODE=${code}" >> tmp-run-env.out
