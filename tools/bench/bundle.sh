#!/usr/bin/env bash
# Packs the Linux benchmarks behind issue 9's many-core rows into one self-contained
# folder, so that a machine without this project's packages (a 16-core machine lent for
# an hour) runs them exactly as built here:
#
#   tools/bench/bundle.sh OUT_DIR      # here: builds the bench preset, fills OUT_DIR
#   OUT_DIR/run.sh [RESULTS_DIR]       # there: runs them, prints the ratios
#
# OUT_DIR gets bin/ (bench_scale, bench_tracker, bench_pingpong), lib/ (every shared
# library they load, and the dynamic loader) and run.sh, which starts each program
# through the bundled loader. run.sh writes each program's console output to
# RESULTS_DIR (default: results/ beside it) and ends with issue 9's ratios:
#   - open+close per thread at 2..16 threads as a percentage of one thread (bench_scale's
#     per_thread_pct, depth 16 and depth 0, with the floor, an untracked control and a
#     control with one shared write per open+close);
#   - depth-16 open+close ÷ the walk+intern floor, and depth-0 open+close, one thread;
#   - the io_uring ping-pong ÷ Boost.Asio at 1 / 16 / 64 connections, tracking on and
#     compiled out.
# The target machine needs an x86-64 Linux kernel with io_uring (5.6 or later); nothing
# else. Figures go into docs/PERFORMANCE.md ("Tracking at scale") with the machine named.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -ne 1 ]; then
  echo "usage: tools/bench/bundle.sh OUT_DIR" >&2
  exit 2
fi
out=$1
programs=(bench_scale bench_tracker bench_pingpong)

cmake --preset bench >/dev/null
cmake --build build/bench --target "${programs[@]}"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for program in "${programs[@]}"; do
  cp "build/bench/tools/bench/$program" "$out/bin/"
  # "libX.so => /path (0x...)" and the loader's own line "/lib64/ld-linux-x86-64.so.2 (0x...)".
  ldd "build/bench/tools/bench/$program" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
    while read -r library; do cp -L "$library" "$out/lib/"; done
done

cat >"$out/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the bundled benchmarks through the bundled loader (made by tools/bench/bundle.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
results=${1:-$here/results}
mkdir -p "$results"
run() {
  local program=$1
  shift
  "$here/lib/ld-linux-x86-64.so.2" --library-path "$here/lib" "$here/bin/$program" "$@"
}
{ nproc; uname -srm; grep -m1 'model name' /proc/cpuinfo || true; } | tee "$results/machine.txt"

run bench_scale --benchmark_filter='BM_Threads_' --benchmark_min_time=0.2 \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$results/bench_scale.txt"
run bench_tracker --benchmark_filter='BM_OpenClose_Tracked/(0|16)$|BM_Floor_WalkPlusIntern/16$' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true | tee "$results/bench_tracker.txt"
run bench_pingpong --benchmark_filter='BM_PingPong_(Restrack|RestrackCompiledOut|Asio)/' \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true | tee "$results/bench_pingpong.txt"

echo
echo "== per-thread throughput at N threads, % of one thread (medians)"
awk '/_median/ && /per_thread_pct=/ {
  match($1, /threads:[0-9]+/); n = substr($1, RSTART + 8, RLENGTH - 8)
  row = $1; sub(/\/real_time\/threads:.*/, "", row)
  match($0, /per_thread_pct=[0-9.]+/); printf "%-32s %2s threads  %6.1f %%\n", row, n, substr($0, RSTART + 15, RLENGTH - 15)
}' "$results/bench_scale.txt"
echo "== one thread (medians)"
awk '/_median/ {t[$1] = $2}
  END {
    d0 = t["BM_OpenClose_Tracked/0_median"]; d16 = t["BM_OpenClose_Tracked/16_median"]
    floor = t["BM_Floor_WalkPlusIntern/16_median"]
    printf "depth-0 open+close %.1f ns; depth-16 open+close %.1f ns = %.2f x the floor (%.1f ns)\n", d0, d16, d16 / floor, floor
  }' "$results/bench_tracker.txt"
echo "== ping-pong / Asio (medians of round_trips)"
awk '/_median/ && /round_trips=/ {
  name = $1; sub(/\/real_time_median/, "", name)
  match($0, /round_trips=[0-9.]+[kM]?/); v = substr($0, RSTART + 12, RLENGTH - 12)
  if (v ~ /k$/) v = v * 1e3; else if (v ~ /M$/) v = v * 1e6
  rate[name] = v
}
END {
  for (c = 1; c <= 64; c *= (c == 1 ? 16 : 4)) {
    a = rate["BM_PingPong_Asio/connections:" c]
    printf "%2d connections: tracking on %.3f, compiled out %.3f (Asio %.1f k/s)\n", c,
      rate["BM_PingPong_Restrack/connections:" c] / a,
      rate["BM_PingPong_RestrackCompiledOut/connections:" c] / a, a / 1e3
  }
}' "$results/bench_pingpong.txt"
EOF
chmod +x "$out/run.sh"
echo "bundle: $(du -sh "$out" | cut -f1) in $out; run $out/run.sh on the target machine"
