#!/usr/bin/env bash
# Builds tests/consumer against restrack both ways and checks that the leak in its
# main is reported.
#
#   run.sh <restrack source> <scratch dir> <build type> [<toolchain file>]
#
# With a toolchain file (cmake/toolchain-mingw-w64.cmake) everything is cross-built for
# Windows and the consumer runs under Wine (through the toolchain's emulator).
set -euo pipefail
source_dir=$1
work=$2
build_type=${3:-Debug}
toolchain=${4:-}
rm -rf "$work"
mkdir -p "$work"
common=(-G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DRESTRACK_BUILD_PROACTOR=OFF)
if [[ -n $toolchain ]]; then
  common+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")
  program=consumer.exe
  described='<character device>'
  source=main_windows.cc:9
  compiler=x86_64-w64-mingw32-g++-posix
  # As the toolchain file's emulator runs the programs it builds.
  run() {
    "$source_dir/tools/setup/wine-run.sh" wine \
      "${RESTRACK_WINDOWS_PREFIX:-${RESTRACK_CACHE_DIR:-/var/cache/restrack-ci}/windows}/wine" "$@"
  }
else
  program=consumer
  described='<fd=[0-9]* /dev/null>'
  source=main.cc:8
  compiler=c++
  run() { "$@"; }
fi

check() {
  local output
  output=$(run "$1" 2>&1 | tr -d '\r')
  echo "$output"
  grep -q "consumer: 1 open" <<<"$output"
  grep -q "ResourceWarning: unclosed handle $described" <<<"$output"
  grep -q "#0 main at .*tests/consumer/$source" <<<"$output"
}

echo "== add_subdirectory"
cmake -S "$source_dir/tests/consumer" -B "$work/sub" "${common[@]}" \
  -DRESTRACK_SOURCE_DIR="$source_dir" >/dev/null
cmake --build "$work/sub" >/dev/null
check "$work/sub/$program"

echo "== find_package from an install prefix"
cmake -S "$source_dir" -B "$work/lib" "${common[@]}" -DRESTRACK_INSTALL=ON \
  -DRESTRACK_BUILD_TESTS=OFF -DRESTRACK_BUILD_TOOLS=OFF >/dev/null
cmake --build "$work/lib" >/dev/null
cmake --install "$work/lib" --prefix "$work/prefix" >/dev/null
# (restrack_DIR rather than CMAKE_PREFIX_PATH: the Windows toolchain file keeps package
# searches inside the dependency prefix.)
cmake -S "$source_dir/tests/consumer" -B "$work/pkg" "${common[@]}" \
  -Drestrack_DIR="$work/prefix/lib/cmake/restrack" >/dev/null
cmake --build "$work/pkg" >/dev/null
check "$work/pkg/$program"

echo "== headers alone: the installed mode without the CMake targets"
# restrack/config.h takes the mode from the installed restrack/build_config.h.
expected=1
case "$build_type" in Release | MinSizeRel) expected=0 ;; esac
echo '#include "restrack/tracker.h"
static_assert(RESTRACK_TRACKING == EXPECTED, "the installed mode");
int main() {}' >"$work/mode.cc"
$compiler -std=c++20 -fsyntax-only -DEXPECTED=$expected -I"$work/prefix/include" "$work/mode.cc"
echo "consumer projects: both ways work"
