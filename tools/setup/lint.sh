#!/usr/bin/env bash
# clang-format and clang-tidy over restrack's own C++ sources; any finding fails.
#
#   tools/setup/lint.sh [BUILD]
#   tools/setup/lint.sh --windows WINDOWS_BUILD [BUILD]
#
# BUILD is a configured Linux build with compile_commands.json (default: build/debug,
# which `cmake --preset debug` creates). The second form runs clang-tidy only, on the
# sources that WINDOWS_BUILD (the `windows` preset's build/windows, docs/windows.md)
# compiles and BUILD does not, parsed for the mingw-w64 target.
set -euo pipefail
cd "$(dirname "$0")/../.."
windows_build=
if [[ ${1:-} == --windows ]]; then
  windows_build=${2:?usage: tools/setup/lint.sh --windows WINDOWS_BUILD [BUILD]}
  shift 2
fi
build=${1:-build/debug}

mapfile -t sources < <(git ls-files '*.cc' '*.h' | grep -E '^(tracker|proactor|integrations|tools|tests)/')

# The translation units of `sources` that a build's compile_commands.json compiles (not
# tests/consumer, which is built by its own test, nor the probes that must fail to link
# or to compile).
units_of() {
  printf '%s\n' "${sources[@]}" | grep -E '\.cc$' |
    grep -vE '^tests/(consumer|tracker/(abi_mismatch|temporary_kind)_probe)' |
    while read -r f; do grep -q "\"file\": \"$PWD/$f\"" "$1/compile_commands.json" && echo "$f"; done
}

mapfile -t units < <(units_of "$build")

if [[ -z $windows_build ]]; then
  echo "lint: clang-format on ${#sources[@]} files"
  clang-format --dry-run --Werror "${sources[@]}"
  echo "lint: clang-tidy on ${#units[@]} files"
  # GCC ships libbacktrace's header (used by the Boost.Stacktrace reference benchmark) in
  # its private include directory.
  gcc_include=$(dirname "$(g++ -print-libgcc-file-name)")/include
  printf '%s\n' "${units[@]}" | xargs -P 2 -n 4 clang-tidy -p "$build" --quiet \
    --extra-arg="-idirafter$gcc_include" 2>/dev/null
else
  mapfile -t windows_units < <(comm -13 <(printf '%s\n' "${units[@]}" | sort) \
    <(units_of "$windows_build" | sort))
  echo "lint: clang-tidy on ${#windows_units[@]} Windows-only files"
  # Parsed as clang for x86_64-w64-mingw32 with the cross GCC's C++ library and
  # mingw-w64's headers, but clang's own compiler headers: GCC's intrinsics headers
  # name builtins clang does not have.
  cxx=$(dirname "$(x86_64-w64-mingw32-g++-posix -print-libgcc-file-name)")/include/c++
  printf '%s\n' "${windows_units[@]}" | xargs -P 2 -n 4 clang-tidy -p "$windows_build" --quiet \
    --extra-arg=--target=x86_64-w64-mingw32 --extra-arg=-nostdinc++ \
    --extra-arg="-isystem$cxx" --extra-arg="-isystem$cxx/x86_64-w64-mingw32" \
    --extra-arg="-isystem$cxx/backward" --extra-arg=-isystem/usr/x86_64-w64-mingw32/include \
    2>/dev/null
fi
echo "lint: clean"
