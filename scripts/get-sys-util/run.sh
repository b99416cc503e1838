#!/usr/bin/env bash
# Install the package customize.py chose, non-interactively. Never prompts:
# stdin is /dev/null, apt runs with DEBIAN_FRONTEND=noninteractive, and sudo,
# when used at all, is `sudo -n` (fails instead of asking for a password).
set -uo pipefail

name="${CMX_SYS_UTIL_NAME}"
pkg="${CMX_SYS_UTIL_PACKAGE}"
if [ "${CMX_SYS_UTIL_ACTION}" = "found" ]; then
  echo "${name}: found (${CMX_SYS_UTIL_FOUND_AT}); nothing to install"
  exit 0
fi

sudo=()
[ "${CMX_SYS_UTIL_SUDO:-no}" = "yes" ] && sudo=(sudo -n)

# show, then run, a command (arguments are passed as they are, never evaluated)
run() {
  echo "+ $*"
  "$@" < /dev/null
}

case "${CMX_SYS_UTIL_MANAGER}" in
  apt)
    export DEBIAN_FRONTEND=noninteractive
    install() {
      run "${sudo[@]}" apt-get install -y --no-install-recommends "${pkg}" 2>&1 | tee apt.log
      return "${PIPESTATUS[0]}"
    }
    if [ "${CMX_SYS_UTIL_APT_UPDATE_FIRST:-no}" = "yes" ]; then
      run "${sudo[@]}" apt-get update || exit 1
    fi
    if ! install; then
      # stale or missing package lists (404, unknown package): refresh once, then retry
      if grep -q -E "404|Unable to fetch|Unable to locate package|no installation candidate" apt.log; then
        run "${sudo[@]}" apt-get update && install || exit 1
      else
        exit 1
      fi
    fi
    ;;
  dnf|yum)
    run "${sudo[@]}" "${CMX_SYS_UTIL_MANAGER}" install -y "${pkg}" || exit 1
    ;;
  brew)
    HOMEBREW_NO_AUTO_UPDATE=1 run brew install "${pkg}" || exit 1
    ;;
  *)
    echo "no supported package manager" >&2
    exit 1
    ;;
esac
echo "${name}: installed package ${pkg}"
