// Shared by the tracker benchmarks: a resource type in three builds (tracked, untracked,
// compiled out) and a way to run a benchmark body at a known stack depth.
#pragma once

#include <benchmark/benchmark.h>

namespace restrack_bench {

// Open and close the compiled-out build's handle; defined in bench_compiled_out.cc,
// which is built with RESTRACK_TRACKING=0.
void open_close_compiled_out(benchmark::State& state);

// Calls `body` `depth` frames below the caller, so that traces of any depth up to that
// have real frames to walk.
template <class Body>
[[gnu::noinline]] void at_depth(int depth, Body& body) {
  if (depth <= 0) {
    body();
  } else {
    at_depth(depth - 1, body);
  }
  benchmark::ClobberMemory();  // keeps the recursion from becoming a loop
}

}  // namespace restrack_bench
