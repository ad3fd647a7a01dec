#!/usr/bin/env bash
# restrack-run against Valgrind's --track-fds=yes on the same programs (issue 14,
# docs/PERFORMANCE.md): run time untracked, under restrack-run with frame-pointer and with
# DWARF capture, and under Valgrind; and the descriptors each reports still open at exit.
#
#   tools/bench/restrack_run_vs_valgrind.sh [BUILD_DIR] [RUNS]
#
# BUILD_DIR holds an optimized restrack-run (default build/run-bench, configured and built
# here: RelWithDebInfo, restrack-run only). Each time is the median wall time of RUNS runs
# (default 5). Needs valgrind (tools/setup/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/run-bench}
runs=${2:-5}
if [ ! -x "$build/tools/run/restrack-run" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESTRACK_BUILD_TESTS=OFF \
    -DRESTRACK_BUILD_PROACTOR=OFF -DRESTRACK_BUILD_GTEST_INTEGRATION=OFF >/dev/null
  cmake --build "$build" -j2 --target restrack-run >/dev/null
fi
run="$build/tools/run/restrack-run"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The programs, built the way a distribution builds them: optimized, no frame pointers.
cflags="-O2 -g -fomit-frame-pointer"
cc $cflags tools/bench/fd_churn.c -o "$work/fd_churn"
for program in leaks double_close fork_exec; do
  cc $cflags "tests/run/programs/$program.c" -o "$work/$program"
done

# Median wall time in milliseconds of running "$@" $runs times.
median_ms() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

# Descriptors reported still open at exit (standard streams and inherited ones excluded).
restrack_leaks() {
  "$run" "$@" 2>&1 >/dev/null | grep -c 'still open at exit' || true
}
# Valgrind lists each descriptor open at exit ("Open file descriptor N: ...", "Open
# AF_INET socket N: ..."), followed by its trace or by "<inherited from parent>".
valgrind_leaks() {
  valgrind --track-fds=yes --trace-children=yes "$@" 2>&1 >/dev/null |
    awk '/== Open (file descriptor|AF_)/ { open++ } /<inherited from parent>/ { inherited++ }
         END { print open - inherited }'
}

printf '| program | untracked | restrack-run fp | restrack-run dwarf | valgrind --track-fds=yes | leaks found: restrack-run / valgrind |\n'
printf '| --- | ---: | ---: | ---: | ---: | --- |\n'
for program in "fd_churn 20000" leaks double_close fork_exec; do
  set -- $program
  binary="$work/$1"
  shift
  base=$(median_ms "$binary" "$@")
  fp=$(median_ms "$run" --capture=fp -- "$binary" "$@")
  dwarf=$(median_ms "$run" --capture=dwarf -- "$binary" "$@")
  vg=$(median_ms valgrind --track-fds=yes --trace-children=yes "$binary" "$@")
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
  printf '| %s | %s ms | %s ms (%s×) | %s ms (%s×) | %s ms (%s×) | %s / %s |\n' \
    "$(basename "$binary") $*" "$base" "$fp" "$(ratio "$fp" "$base")" "$dwarf" \
    "$(ratio "$dwarf" "$base")" "$vg" "$(ratio "$vg" "$base")" \
    "$(restrack_leaks "$binary" "$@")" "$(valgrind_leaks "$binary" "$@")"
done
