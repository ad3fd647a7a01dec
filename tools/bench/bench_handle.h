// The guarded handle the tracker benchmarks open and close. bench_tracker.cc and
// bench_compiled_out.cc both include it, each in its own tracking mode, so the two
// measure the same source. Everything here has internal linkage on purpose: the two
// builds' restrack types differ (restrack::tracking_on vs tracking_off).
#pragma once

#include <benchmark/benchmark.h>

#include "bench_support.h"
#include "restrack/guard.h"
#include "restrack/options.h"

namespace restrack_bench {
namespace {  // NOLINT(cert-dcl59-cpp,google-build-namespaces): one copy per mode, see above

constexpr restrack::Kind kBenchHandle{"bench handle"};

struct GuardedHandle {
  explicit GuardedHandle(int value) : fd(value) { guard.open(kBenchHandle, this); }
  void close() {
    guard.close();
    fd = -1;
  }
  int fd;
  [[no_unique_address]] restrack::ResourceGuard guard;
};

// The trace depth of the opens that follow.
inline void set_depth(int depth) {
  restrack::Options options = restrack::current_options();
  options.trace_depth = depth;
  restrack::set_options(options);
}

// Opens and closes a Handle per iteration, 40 frames deep so that traces of every
// depth measured have real frames to walk.
template <class Handle>
void open_close(benchmark::State& state) {
  auto body = [&] {
    for (auto _ : state) {
      Handle handle(7);
      benchmark::DoNotOptimize(handle.fd);
      handle.close();
      benchmark::DoNotOptimize(handle.fd);
    }
  };
  at_depth(40, body);
}

// A site whose stack changes at every open and close: one frame deeper every other
// time, so the last walk (RecentWalk, capture.h) is never replayed and each trace is
// walked, hashed and found in the depot, as at a site seen for the second time.
[[gnu::noinline]] inline void open_close_once() {
  GuardedHandle handle(7);
  benchmark::DoNotOptimize(handle.fd);
  handle.close();
  benchmark::DoNotOptimize(handle.fd);
}
[[gnu::noinline]] inline void open_close_once_a_frame_deeper() {
  open_close_once();
  benchmark::ClobberMemory();  // not a tail call
}

inline void open_close_changing_stack(benchmark::State& state) {
  auto body = [&] {
    bool deeper = false;
    for (auto _ : state) {
      if (deeper) {
        open_close_once_a_frame_deeper();
      } else {
        open_close_once();
      }
      deeper = !deeper;
    }
  };
  at_depth(40, body);
}

}  // namespace
}  // namespace restrack_bench
