#!/usr/bin/env bash
# Create the venv in this build folder ($PWD) with the interpreter from get-python3.
# cmx renames the folder into the cache afterwards and rewrites the build path in
# venv/bin/* and venv/pyvenv.cfg (relocate_files), so the venv works from there.
set -euo pipefail

python="${CMX_PYTHON_BIN_WITH_PATH:?get-python3 did not export CMX_PYTHON_BIN_WITH_PATH}"
args=(-m venv)
if [ "${CMX_VENV_SYSTEM_SITE_PACKAGES:-no}" = "yes" ]; then
  args+=(--system-site-packages)
fi

echo "creating venv '${CMX_VENV_NAME}' with ${python} (Python ${CMX_PYTHON_VERSION:-?})"
"${python}" "${args[@]}" venv < /dev/null
# pip must work in it: install-python-package relies on it
venv/bin/python -m pip --version < /dev/null

out=tmp-run-env.out
{
  echo "CMX_VENV_PATH=${PWD}/venv"
  echo "CMX_VENV_BIN_PATH=${PWD}/venv/bin"
  echo "CMX_VENV_PYTHON=${PWD}/venv/bin/python"
  echo "CMX_VENV_BASE_PYTHON=${python}"
  echo "CMX_VENV_SITE_PACKAGES_PATH=$(venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' < /dev/null)"
  echo "+PATH=${PWD}/venv/bin"
} >> "$out"
