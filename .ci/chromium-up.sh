#!/usr/bin/env bash
# Install Debian's Chromium for the FlexBoard browser tests (Playwright drives it; Playwright's own
# browser downloads are never used). Exit 0 when chromium is there, 3 when it cannot be installed.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
say() { echo "chromium-up: $*" >&2; }
if ! command -v apt-get >/dev/null; then say "apt-get is not available to install chromium"; exit 3; fi
if [ "$(id -u)" != 0 ]; then say "installing chromium needs root (apt-get)"; exit 3; fi
LOG="$(mktemp -t chromium-apt.XXXXXX.log)"
say "installing chromium (apt-get; log in $LOG)"
# refresh the package lists first: a new machine may have none, or old ones
if ! { apt-get update -q >"$LOG" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$LOG" 2>&1; }; then
    say "apt-get install chromium failed (see $LOG)"; exit 3
fi
command -v chromium >/dev/null 2>&1
