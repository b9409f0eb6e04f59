#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is on PATH for the report screenshot
# test (tests/cli/test_report_screenshot.sh). Installs Debian's `chromium`
# only when it is absent and we run as root; otherwise prints the one command
# to run and exits 1. Prints the browser's path on success.
set -euo pipefail
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then command -v "$b"; exit 0; fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "setup_chromium: chromium is missing; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
echo "setup_chromium: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
command -v chromium
