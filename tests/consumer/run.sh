#!/usr/bin/env bash
# Builds tests/consumer against restrack both ways and checks that the leak in its
# main.cc is reported. Usage: run.sh <restrack source> <scratch dir> <build type>
set -euo pipefail
source_dir=$1
work=$2
build_type=${3:-Debug}
rm -rf "$work"
mkdir -p "$work"
common=(-G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DRESTRACK_BUILD_PROACTOR=OFF)

check() {
  local output
  output=$("$1" 2>&1)
  echo "$output"
  grep -q "consumer: 1 open" <<<"$output"
  grep -q "ResourceWarning: unclosed handle <fd=[0-9]* /dev/null>" <<<"$output"
  grep -q "#0 main at .*tests/consumer/main.cc:8" <<<"$output"
}

echo "== add_subdirectory"
cmake -S "$source_dir/tests/consumer" -B "$work/sub" "${common[@]}" \
  -DRESTRACK_SOURCE_DIR="$source_dir" >/dev/null
cmake --build "$work/sub" >/dev/null
check "$work/sub/consumer"

echo "== find_package from an install prefix"
cmake -S "$source_dir" -B "$work/lib" "${common[@]}" -DRESTRACK_INSTALL=ON \
  -DRESTRACK_BUILD_TESTS=OFF -DRESTRACK_BUILD_TOOLS=OFF >/dev/null
cmake --build "$work/lib" >/dev/null
cmake --install "$work/lib" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/consumer" -B "$work/pkg" "${common[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/pkg" >/dev/null
check "$work/pkg/consumer"

echo "== headers alone: the installed mode without the CMake targets"
# restrack/config.h takes the mode from the installed restrack/build_config.h.
expected=1
case "$build_type" in Release | MinSizeRel) expected=0 ;; esac
echo '#include "restrack/tracker.h"
static_assert(RESTRACK_TRACKING == EXPECTED, "the installed mode");
int main() {}' >"$work/mode.cc"
c++ -std=c++20 -fsyntax-only -DEXPECTED=$expected -I"$work/prefix/include" "$work/mode.cc"
echo "consumer projects: both ways work"
