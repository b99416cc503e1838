#!/usr/bin/env bash
# The official checker, offline (no token is needed for check-submission); its exit code is read by postprocess.
set +e
# always --strict (its exit code is the strict verdict); the report lists errors and warnings apart
args=(check-submission "${CMX_ENDPOINTS_CHECK_DIR}" --strict -j -o "${CMX_ENDPOINTS_CHECK_REPORT}" --no-annotate)
"${CMX_VENV_BIN_PATH}/endpoints-submission-cli" "${args[@]}" > "${CMX_ENDPOINTS_CHECK_STDOUT}"
echo "CMX_ENDPOINTS_CHECK_EXIT_CODE=$?" >> tmp-run-env.out
if [ "${CMX_ENDPOINTS_CHECK_VIZ}" = "yes" ]; then
  "${CMX_VENV_BIN_PATH}/mlperf-viz" "${CMX_ENDPOINTS_CHECK_DIR}" --export "${CMX_ENDPOINTS_CHECK_VIZ_EXPORT}" --no-browser \
    > "${CMX_ENDPOINTS_CHECK_VIZ_EXPORT}.log" 2>&1
  echo "CMX_ENDPOINTS_CHECK_VIZ_EXIT_CODE=$?" >> tmp-run-env.out
fi
exit 0
