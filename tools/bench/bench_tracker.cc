// Cost of tracking a resource: open+close of a guarded handle at trace depths 0, 16 and
// 32, against the same type untracked and compiled out, and against the floor (a
// frame-pointer walk plus interning in the depot) measured in the same binary.
// Results and the command that produced them: docs/PERFORMANCE.md.
#define BOOST_STACKTRACE_USE_BACKTRACE
#include <boost/stacktrace.hpp>
#include <cstdint>

#include "bench_handle.h"
#include "capture.h"
#include "restrack/tracker.h"
#include "stack_depot.h"

namespace {

constexpr int kCallDepth = 40;

using restrack_bench::GuardedHandle;
using restrack_bench::open_close;
using restrack_bench::set_depth;

// The same handle without a guard: what the compiled-out build must match.
struct UntrackedHandle {
  explicit UntrackedHandle(int value) : fd(value) {}
  void close() { fd = -1; }
  int fd;
};

void BM_OpenClose_Tracked(benchmark::State& state) {
  set_depth(static_cast<int>(state.range(0)));
  open_close<GuardedHandle>(state);
  set_depth(16);
}
BENCHMARK(BM_OpenClose_Tracked)->Arg(0)->Arg(16)->Arg(32);

// Depth 16 at eight stack positions, against 4K aliasing (bench_handle.h).
void BM_OpenClose_TrackedStackShifted(benchmark::State& state) {
  set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_stack_shifted(state, static_cast<std::size_t>(state.range(1)));
  set_depth(16);
}
BENCHMARK(BM_OpenClose_TrackedStackShifted)
    ->ArgNames({"depth", "shift"})
    ->ArgsProduct({{16}, benchmark::CreateDenseRange(0, 3584, 512)});

// As many stacks taking turns as a thread remembers walks (each replayed), and one
// more (none replayed; bench_handle.h).
void BM_OpenClose_TrackedTakingTurns(benchmark::State& state) {
  set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_taking_turns(state, restrack::internal::RecentWalk::kWalks);
  set_depth(16);
}
BENCHMARK(BM_OpenClose_TrackedTakingTurns)->Arg(16);

void BM_OpenClose_TrackedChangingStack(benchmark::State& state) {
  set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_taking_turns(state, restrack::internal::RecentWalk::kWalks + 1);
  set_depth(16);
}
BENCHMARK(BM_OpenClose_TrackedChangingStack)->Arg(16);

void BM_OpenClose_Untracked(benchmark::State& state) { open_close<UntrackedHandle>(state); }
BENCHMARK(BM_OpenClose_Untracked);

void BM_OpenClose_CompiledOut(benchmark::State& state) {
  restrack_bench::open_close_compiled_out(state);
}
BENCHMARK(BM_OpenClose_CompiledOut);

// Capture alone: the checked frame-pointer walk, no interning.
void BM_CaptureFramePointers(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  auto body = [&] {
    std::uintptr_t frames[64];
    for (auto _ : state) {
      benchmark::DoNotOptimize(restrack::internal::capture_frame_pointers(frames, depth, 0));
      benchmark::ClobberMemory();
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_CaptureFramePointers)->Arg(16)->Arg(32);

// The floor: one frame-pointer walk plus interning (a depot hit) — the least any
// traced open can cost.
void BM_Floor_WalkPlusIntern(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  auto body = [&] {
    std::uintptr_t frames[64];
    for (auto _ : state) {
      const int count = restrack::internal::capture_frame_pointers(frames, depth, 0);
      benchmark::DoNotOptimize(restrack::internal::intern_trace(frames, count));
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_Floor_WalkPlusIntern)->Arg(16)->Arg(32);

// The slower DWARF capture (RESTRACK_OPTIONS=capture=dwarf), for code without frame
// pointers.
void BM_CaptureDwarf(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  auto body = [&] {
    std::uintptr_t frames[64];
    for (auto _ : state) {
      benchmark::DoNotOptimize(restrack::internal::capture_dwarf(frames, depth, 0));
      benchmark::ClobberMemory();
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_CaptureDwarf)->Arg(16);

// Reference: Boost.Stacktrace's own capture (DWARF unwinding), the usual choice for traces.
void BM_CaptureBoostStacktrace(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  auto body = [&] {
    for (auto _ : state) {
      boost::stacktrace::stacktrace trace(0, depth);
      benchmark::DoNotOptimize(trace.size());
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_CaptureBoostStacktrace)->Arg(16);

}  // namespace

BENCHMARK_MAIN();
