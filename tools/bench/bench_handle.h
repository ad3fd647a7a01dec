// The guarded handle the tracker benchmarks open and close. bench_tracker.cc and
// bench_compiled_out.cc both include it, each in its own tracking mode, so the two
// measure the same source. Everything here has internal linkage on purpose: the two
// builds' restrack types differ (restrack::tracking_on vs tracking_off).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>

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

// open_close<GuardedHandle> with the stack `bytes` lower. A replay (RecentWalk, capture.h)
// loads the remembered frames just after the open's callers stored to the stack, and a
// load that agrees with a recent store modulo 4 KiB is held back (4K aliasing): one stack
// position could be unlucky. Eight shifts 512 bytes apart cover every position.
[[gnu::noinline]] inline void open_close_stack_shifted(benchmark::State& state, std::size_t bytes) {
  auto* room = static_cast<volatile char*>(__builtin_alloca(bytes + 1));
  room[0] = 0;
  open_close<GuardedHandle>(state);
  benchmark::DoNotOptimize(room);
}

// Opens and closes from `stacks` different stacks in turn: one frame deeper each time,
// back to the first after the last. RecentWalk (capture.h) remembers kWalks walks, so
// that many stacks taking turns are all replayed, and one more are never replayed: each
// trace is then walked, hashed and found in the depot, as at a site seen for the second
// time.
[[gnu::noinline]] inline void open_close_once() {
  GuardedHandle handle(7);
  benchmark::DoNotOptimize(handle.fd);
  handle.close();
  benchmark::DoNotOptimize(handle.fd);
}
[[gnu::noinline]] inline void open_close_frames_deeper(int frames) {
  if (frames == 0) {
    open_close_once();
  } else {
    open_close_frames_deeper(frames - 1);
  }
  benchmark::ClobberMemory();  // not a tail call
}

inline void open_close_taking_turns(benchmark::State& state, int stacks) {
  auto body = [&] {
    int next = 0;
    for (auto _ : state) {
      open_close_frames_deeper(next);
      next = next + 1 == stacks ? 0 : next + 1;
    }
  };
  at_depth(40, body);
}

}  // namespace
}  // namespace restrack_bench
