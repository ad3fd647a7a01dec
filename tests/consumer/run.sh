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
echo "consumer projects: both ways work"
