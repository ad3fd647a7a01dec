#!/usr/bin/env bash
# Installs every system package restrack needs to build and test, from Debian 12's
# archive. Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config git clang-format clang-tidy
  clang libclang-rt-14-dev
  libabsl-dev libspdlog-dev
  libboost1.81-dev libboost-stacktrace1.81-dev libboost-json1.81-dev
  liburing-dev libdw-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # restrack-run's comparison with Valgrind's --track-fds=yes (tools/bench).
  valgrind
  # The report tests: node runs the SARIF Multitool and drives chromium headless
  # (tools/setup/install-node-tools.sh installs the npm packages).
  nodejs chromium
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

# Some machines carry a Node.js build that bundles npm; Debian's npm is only needed
# where no npm exists.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
