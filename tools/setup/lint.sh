#!/usr/bin/env bash
# clang-format and clang-tidy over restrack's own C++ sources; any finding fails.
# Needs a configured build with compile_commands.json (default: build/debug, which
# `cmake --preset debug` creates).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/debug}

mapfile -t sources < <(git ls-files '*.cc' '*.h' | grep -E '^(tracker|proactor|integrations|tools|tests)/')
echo "lint: clang-format on ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"

# clang-tidy on the translation units the build compiles (not tests/consumer, which is
# built by its own test, nor the probes that must fail to link or to compile).
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep -E '\.cc$' |
  grep -vE '^tests/(consumer|tracker/(abi_mismatch|temporary_kind)_probe)' |
  while read -r f; do grep -q "\"file\": \"$PWD/$f\"" "$build/compile_commands.json" && echo "$f"; done)
echo "lint: clang-tidy on ${#units[@]} files"
# GCC ships libbacktrace's header (used by the Boost.Stacktrace reference benchmark) in
# its private include directory.
gcc_include=$(dirname "$(g++ -print-libgcc-file-name)")/include
printf '%s\n' "${units[@]}" | xargs -P 2 -n 4 clang-tidy -p "$build" --quiet \
  --extra-arg="-idirafter$gcc_include" 2>/dev/null
echo "lint: clean"
