#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and runs each for a while:
#   tools/setup/fuzz.sh [SECONDS_EACH]     (default 30; CI uses the default)
# Seeds come from tests/fuzz/corpus/<target>/; what a run discovers goes to
# build/fuzz/corpus/<target>/, kept between runs. A crash leaves its input in
# build/fuzz/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
for target in options suppressions; do
  corpus=build/fuzz/corpus/$target
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s"
  (cd build/fuzz && "tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    "corpus/$target" "../../tests/fuzz/corpus/$target" 2>&1 | tail -n 4)
done
echo "fuzz: no crash"
