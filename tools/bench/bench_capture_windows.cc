// Windows: what a trace costs. RtlCaptureStackBackTrace, which looks up and decodes every
// frame's unwind data, against the walk by unwind rules learned once per return address
// (tracker/src/platform/capture_windows.cc), and a guarded handle's open+close that uses
// it, where the last walk is replayed and where it never is. Built by the windows-bench
// preset; results and the command in docs/PERFORMANCE.md.
#include <winsock2.h>

#include <windows.h>

#include <cstdint>

#include "bench_handle.h"
#include "capture.h"

namespace {

constexpr int kCallDepth = 40;

void BM_CaptureSystemUnwinder(benchmark::State& state) {
  const auto depth = static_cast<DWORD>(state.range(0));
  auto body = [&] {
    void* frames[64];
    for (auto _ : state) {
      benchmark::DoNotOptimize(RtlCaptureStackBackTrace(0, depth, frames, nullptr));
      benchmark::ClobberMemory();
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_CaptureSystemUnwinder)->Arg(16)->Arg(30);

void BM_CaptureByUnwindRules(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  auto body = [&] {
    std::uintptr_t frames[64];
    for (auto _ : state) {
      benchmark::DoNotOptimize(restrack::internal::capture_by_unwind_rules(frames, depth, 0));
      benchmark::ClobberMemory();
    }
  };
  restrack_bench::at_depth(kCallDepth, body);
}
BENCHMARK(BM_CaptureByUnwindRules)->Arg(16)->Arg(30);

void BM_OpenClose_Tracked(benchmark::State& state) {
  restrack_bench::set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close<restrack_bench::GuardedHandle>(state);
}
BENCHMARK(BM_OpenClose_Tracked)->Arg(0)->Arg(16);

// Depth 16 at eight stack positions, against 4K aliasing (bench_handle.h).
void BM_OpenClose_TrackedStackShifted(benchmark::State& state) {
  restrack_bench::set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_stack_shifted(state, static_cast<std::size_t>(state.range(1)));
  restrack_bench::set_depth(16);
}
BENCHMARK(BM_OpenClose_TrackedStackShifted)
    ->ArgNames({"depth", "shift"})
    ->ArgsProduct({{16}, benchmark::CreateDenseRange(0, 3584, 512)});

// As many stacks taking turns as a thread remembers walks (each replayed), and one
// more (none replayed; bench_handle.h).
void BM_OpenClose_TrackedTakingTurns(benchmark::State& state) {
  restrack_bench::set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_taking_turns(state, restrack::internal::RecentWalk::kWalks);
}
BENCHMARK(BM_OpenClose_TrackedTakingTurns)->Arg(16);

void BM_OpenClose_TrackedChangingStack(benchmark::State& state) {
  restrack_bench::set_depth(static_cast<int>(state.range(0)));
  restrack_bench::open_close_taking_turns(state, restrack::internal::RecentWalk::kWalks + 1);
}
BENCHMARK(BM_OpenClose_TrackedChangingStack)->Arg(16);

}  // namespace

BENCHMARK_MAIN();
