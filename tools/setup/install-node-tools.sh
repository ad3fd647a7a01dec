#!/usr/bin/env bash
# Installs the npm packages the report tests run (tools/setup/node-tools/package.json,
# versions pinned by its package-lock.json) into a cache outside the clone:
#   ${RESTRACK_NODE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/restrack/node-tools}
# Idempotent: does nothing when that folder already holds this lock file's packages.
# Needs node and npm (Debian's nodejs and npm packages).
set -euo pipefail
cd "$(dirname "$0")/node-tools"

target=${RESTRACK_NODE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/restrack/node-tools}
multitool="$target/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if cmp -s package-lock.json "$target/package-lock.json" && [ -x "$multitool" ] &&
  [ -d "$target/node_modules/playwright-core" ]; then
  echo "install-node-tools: present in $target"
  exit 0
fi

echo "install-node-tools: installing into $target"
mkdir -p "$target"
cp package.json package-lock.json "$target/"
(cd "$target" && npm ci --no-audit --no-fund --loglevel=error)
# The package's own postinstall only marks the binary executable; npm 11 does not run
# install scripts it was not told to trust, so do that step here.
chmod u+x "$multitool"
