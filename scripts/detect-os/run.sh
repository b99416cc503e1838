#!/usr/bin/env bash
# Facts from uname and /etc/os-release, written as KEY=VALUE for cmx to read back.
set -e
out=tmp-run-env.out
: > "$out"
echo "CMX_HOST_OS_TYPE=$(uname -s | tr '[:upper:]' '[:lower:]')" >> "$out"
echo "CMX_HOST_OS_KERNEL_VERSION=$(uname -r)" >> "$out"
echo "CMX_HOST_PLATFORM_FLAVOR=$(uname -m)" >> "$out"
echo "CMX_HOST_SYSTEM_NAME=$(uname -n)" >> "$out"
case "$(getconf LONG_BIT 2>/dev/null || echo 64)" in
  32) echo "CMX_HOST_OS_BITS=32" >> "$out" ;;
  *)  echo "CMX_HOST_OS_BITS=64" >> "$out" ;;
esac
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  echo "CMX_HOST_OS_FLAVOR=${ID:-unknown}" >> "$out"
  echo "CMX_HOST_OS_FLAVOR_LIKE=${ID_LIKE:-}" >> "$out"
  echo "CMX_HOST_OS_VERSION=${VERSION_ID:-unknown}" >> "$out"
  echo "CMX_HOST_OS_NAME=${PRETTY_NAME:-unknown}" >> "$out"
fi
