#!/usr/bin/env bash
# Installs the pinned emoji data packages (third_party/npm/package.json and
# package-lock.json) into third_party/npm/node_modules. Idempotent: when every
# package is already present at its pinned version it returns at once.
#   emoji-datasource-{apple,google,twitter,facebook}  img/<vendor>/64/*.png
#   emojibase-data                                     en/data.json (labels, tags, skins)
set -euo pipefail
cd "$(dirname "$0")/../third_party/npm"
# One node process checks every pinned version against what is installed.
if node -e '
  const fs = require("fs");
  const deps = JSON.parse(fs.readFileSync("package.json", "utf8")).dependencies;
  for (const [name, want] of Object.entries(deps)) {
    let have = "";
    try { have = JSON.parse(fs.readFileSync("node_modules/" + name + "/package.json", "utf8")).version; } catch (e) {}
    if (have !== want) process.exit(1);
  }' 2>/dev/null; then
  exit 0
fi
echo "modx setup: installing the emoji data packages into third_party/npm (about 400 MB)"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
