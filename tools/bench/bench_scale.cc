// How the tracker's costs grow with the program (issue 9): threads, live resources,
// distinct traces, new allocation sites. Results and commands: docs/PERFORMANCE.md.
#include <fcntl.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_handle.h"
#include "capture.h"
#include "restrack/tracker.h"
#include "stack_depot.h"

namespace {

using Clock = std::chrono::steady_clock;
using restrack_bench::GuardedHandle;

constexpr int kCallDepth = 40;

void set_options(const char* text) { restrack::apply_options(text); }

// ---- Threads: open+close per thread at 1..16 threads --------------------------------

// Every thread opens and closes its own handles; items_per_second is the total, so the
// throughput per thread is items_per_second / threads.
template <class Body>
void per_thread(benchmark::State& state, Body body) {
  auto run = [&] {
    for (auto _ : state) body();
  };
  restrack_bench::at_depth(kCallDepth, run);
  state.SetItemsProcessed(state.iterations());
}

struct UntrackedHandle {
  explicit UntrackedHandle(int value) : fd(value) {}
  void close() { fd = -1; }
  int fd;
};

void BM_Threads_OpenClose(benchmark::State& state) {
  per_thread(state, [] {
    GuardedHandle handle(7);
    benchmark::DoNotOptimize(handle.fd);
    handle.close();
  });
}
void BM_Threads_Floor(benchmark::State& state) {
  per_thread(state, [] {
    std::uintptr_t frames[restrack::internal::kMaxCaptureFrames];
    const int count = restrack::internal::capture_frame_pointers(frames, 18, 0);
    benchmark::DoNotOptimize(restrack::internal::intern_trace(frames, count));
  });
}
void BM_Threads_Untracked(benchmark::State& state) {
  per_thread(state, [] {
    UntrackedHandle handle(7);
    benchmark::DoNotOptimize(handle.fd);
    handle.close();
    benchmark::DoNotOptimize(handle.fd);
  });
}

// The control that shows contention: the untracked open+close plus one write to a cache
// line every thread writes, what a process-wide serial or live count on the open path
// would cost. Its per_thread_pct at 2 threads on 2 cores is what the tracker's rows
// would show if they shared a write.
std::atomic<std::uint64_t> shared_counter{0};
void BM_Threads_SharedWrite(benchmark::State& state) {
  per_thread(state, [] {
    UntrackedHandle handle(7);
    benchmark::DoNotOptimize(handle.fd);
    shared_counter.fetch_add(1, std::memory_order_relaxed);
    handle.close();
    benchmark::DoNotOptimize(handle.fd);
  });
}

void depth16(const benchmark::State&) { set_options("trace_depth=16"); }
void depth0(const benchmark::State&) { set_options("trace_depth=0"); }

BENCHMARK(BM_Threads_OpenClose)
    ->Name("BM_Threads_OpenClose/depth16")
    ->Setup(depth16)
    ->ThreadRange(1, 16)
    ->UseRealTime();
BENCHMARK(BM_Threads_OpenClose)
    ->Name("BM_Threads_OpenClose/depth0")
    ->Setup(depth0)
    ->ThreadRange(1, 16)
    ->UseRealTime();
BENCHMARK(BM_Threads_Floor)->ThreadRange(1, 16)->UseRealTime();
BENCHMARK(BM_Threads_Untracked)->ThreadRange(1, 16)->UseRealTime();
BENCHMARK(BM_Threads_SharedWrite)->ThreadRange(1, 16)->UseRealTime();

// ---- One million live resources -------------------------------------------------------

constexpr std::size_t kMillion = 1'000'000;

std::vector<std::unique_ptr<GuardedHandle>> open_many(std::size_t count) {
  std::vector<std::unique_ptr<GuardedHandle>> handles;
  handles.reserve(count);
  for (std::size_t i = 0; i < count; ++i) handles.push_back(std::make_unique<GuardedHandle>(7));
  return handles;
}

// Takes every line of the handles out of the caches, as if they had been opened long ago
// (x86-64; elsewhere they stay as their opens left them, partly cached).
template <class Handle>
void evict(const std::vector<std::unique_ptr<Handle>>& handles) {
#if defined(__x86_64__)
  for (const std::unique_ptr<Handle>& handle : handles) {
    const auto* first = reinterpret_cast<const char*>(handle.get());
    _mm_clflush(first);
    _mm_clflush(first + sizeof(Handle) - 1);
  }
  _mm_mfence();
#else
  static_cast<void>(handles);
#endif
}

// Closes a million open handles in random order, each one cold. Only the closes are timed:
// not the opens, not the frees after, and not what the allocator does with a million freed
// chunks. glibc keeps them in its fast bins and merges them all at the next large request;
// when that request fell in the timed part (the freeing of a vector of the handles), the
// merging took longer than the closes themselves.
//
// `call_depth` frames more under the closes: 0 leaves them right under the benchmark
// library's frames, which have no frame pointers, so that a close trace reads two frames;
// kCallDepth lets it read all six (kCloseFrames), as in a program built with frame pointers.
template <class Handle>
void close_random_order(benchmark::State& state, int call_depth = 0) {
  set_options("trace_depth=16");
  std::mt19937 random(42);
  std::vector<std::unique_ptr<Handle>> handles;
  handles.reserve(kMillion);
  // Inlined where it is called: at call depth 0, the closes' caller is this function.
  auto body = [&]() __attribute__((always_inline)) {
    for (auto _ : state) {
      state.PauseTiming();
      for (std::size_t i = 0; i < kMillion; ++i) handles.push_back(std::make_unique<Handle>(7));
      std::shuffle(handles.begin(), handles.end(), random);
      evict(handles);
      state.ResumeTiming();
      for (std::unique_ptr<Handle>& handle : handles) {
        handle->close();
        benchmark::DoNotOptimize(handle->fd);
      }
      state.PauseTiming();
      handles.clear();
      malloc_trim(0);  // the merging, here and not in the next timed part
      state.ResumeTiming();
    }
  };
  if (call_depth == 0) {
    body();
  } else {
    restrack_bench::at_depth(call_depth, body);
  }
  state.counters["ns_per_close"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kMillion),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_CloseRandomOrder_1M(benchmark::State& state) { close_random_order<GuardedHandle>(state); }
BENCHMARK(BM_CloseRandomOrder_1M)->Unit(benchmark::kMillisecond)->Iterations(3);
void BM_CloseRandomOrder_1M_Deep(benchmark::State& state) {
  close_random_order<GuardedHandle>(state, kCallDepth);
}
BENCHMARK(BM_CloseRandomOrder_1M_Deep)->Unit(benchmark::kMillisecond)->Iterations(3);
// The first control only stores: a write to a cold line retires at once, so it costs next
// to nothing whatever the cache holds.
void BM_CloseRandomOrder_1M_Untracked(benchmark::State& state) {
  close_random_order<UntrackedHandle>(state);
}
BENCHMARK(BM_CloseRandomOrder_1M_Untracked)->Unit(benchmark::kMillisecond)->Iterations(3);
// The second is what any close that notices a double close pays on a cold handle: it reads
// the handle's state before it writes, on a handle as large as a guarded one.
struct CheckedHandle {
  explicit CheckedHandle(int value) : fd(value) {}
  void close() {
    if (fd < 0) std::abort();  // closed twice: not in this benchmark
    fd = -1;
  }
  int fd;
  unsigned char payload[sizeof(restrack::ResourceGuard)];
};
void BM_CloseRandomOrder_1M_UntrackedChecked(benchmark::State& state) {
  close_random_order<CheckedHandle>(state);
}
BENCHMARK(BM_CloseRandomOrder_1M_UntrackedChecked)->Unit(benchmark::kMillisecond)->Iterations(3);
#if defined(__x86_64__)
// The checked control with `kInstructions` more instructions that depend on nothing (nops)
// and `kLoads` more loads of one cached word, in a close that is not inlined: what an
// instruction and a load added to a close of a cold resource cost on this machine (each
// holds a place in the processor's window while the closes before wait for memory).
long g_cached_word = 0;
template <int kInstructions, int kLoads>
struct PaddedCheckedHandle {
  explicit PaddedCheckedHandle(int value) : fd(value) {}
  [[gnu::noinline]] void close() {
    if (fd < 0) std::abort();
    asm volatile(".rept %c0\n\tnop\n\t.endr" ::"i"(kInstructions));
    asm volatile(".rept %c1\n\tmov %0, %%r11\n\t.endr" ::"m"(g_cached_word), "i"(kLoads) : "r11");
    fd = -1;
  }
  int fd;
  unsigned char payload[sizeof(restrack::ResourceGuard)];
};
template <int kInstructions, int kLoads>
void BM_CloseRandomOrder_1M_CheckedPadded(benchmark::State& state) {
  close_random_order<PaddedCheckedHandle<kInstructions, kLoads>>(state);
}
BENCHMARK(BM_CloseRandomOrder_1M_CheckedPadded<0, 0>)
    ->Name("BM_CloseRandomOrder_1M_CheckedPadded/instructions:0/loads:0")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_CloseRandomOrder_1M_CheckedPadded<40, 0>)
    ->Name("BM_CloseRandomOrder_1M_CheckedPadded/instructions:40/loads:0")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_CloseRandomOrder_1M_CheckedPadded<0, 20>)
    ->Name("BM_CloseRandomOrder_1M_CheckedPadded/instructions:0/loads:20")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
#endif

// A query over a million live resources while another thread opens and closes: the
// longest single open+close of that thread is what a query makes it wait. On a machine
// whose cores are shared, a thread can also be descheduled for milliseconds: the control
// runs the same opener for as long while the main thread spins without querying.
void live_resources_while_opening(benchmark::State& state, bool query) {
  set_options("trace_depth=2");
  std::vector<std::unique_ptr<GuardedHandle>> handles = open_many(kMillion);
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> longest_ns{0};
  std::thread opener([&] {
    // Warm: the thread's own shard exists before the queries start.
    {
      GuardedHandle warm(1);
      warm.close();
    }
    while (!stop.load(std::memory_order_relaxed)) {
      const Clock::time_point start = Clock::now();
      GuardedHandle handle(7);
      handle.close();
      const std::int64_t took =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
      if (took > longest_ns.load(std::memory_order_relaxed)) longest_ns.store(took);
    }
  });
  std::size_t listed = 0;
  for (auto _ : state) {
    if (query) {
      listed = restrack::live_resources().size();
    } else {
      const Clock::time_point until = Clock::now() + std::chrono::milliseconds(500);
      while (Clock::now() < until) {
      }
    }
  }
  stop = true;
  opener.join();
  for (auto& handle : handles) handle->close();
  state.counters["listed"] = static_cast<double>(listed);
  state.counters["longest_open_close_us"] = static_cast<double>(longest_ns.load()) / 1000.0;
}

void BM_LiveResourcesWhileOpening_1M(benchmark::State& state) {
  live_resources_while_opening(state, true);
}
BENCHMARK(BM_LiveResourcesWhileOpening_1M)->Unit(benchmark::kMillisecond)->Iterations(3);
void BM_NoQueryWhileOpening_1M(benchmark::State& state) {
  live_resources_while_opening(state, false);
}
BENCHMARK(BM_NoQueryWhileOpening_1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// Snapshot::opened_since() with a million live resources, none opened since: its cost
// follows what is new, not what is live.
void BM_OpenedSinceNothingNew(benchmark::State& state) {
  set_options("trace_depth=2");
  std::vector<std::unique_ptr<GuardedHandle>> handles =
      open_many(static_cast<std::size_t>(state.range(0)));
  const restrack::Snapshot snapshot = restrack::Snapshot::take();
  for (auto _ : state) benchmark::DoNotOptimize(snapshot.opened_since());
  for (auto& handle : handles) handle->close();
}
BENCHMARK(BM_OpenedSinceNothingNew)->Arg(1000)->Arg(kMillion)->Unit(benchmark::kMicrosecond);

// ---- The depot at a million distinct traces -------------------------------------------

// Hits on 50 traces, with `range(0)` other distinct traces in the depot: a flat cost is the
// goal. Synthetic traces of 18 frames, as a depth-16 open interns.
void BM_DepotHits(benchmark::State& state) {
  static std::size_t filled = 0;
  const auto wanted = static_cast<std::size_t>(state.range(0));
  std::uintptr_t frames[18];
  for (; filled < wanted; ++filled) {
    for (int i = 0; i < 18; ++i)
      frames[i] = 0x400000 + filled * 64 + static_cast<std::uintptr_t>(i);
    restrack::internal::intern_trace(frames, 18);
  }
  std::vector<std::array<std::uintptr_t, 18>> hot(50);
  for (std::size_t t = 0; t < hot.size(); ++t) {
    for (int i = 0; i < 18; ++i)
      hot[t][i] = 0x7f0000000000 + t * 128 + static_cast<std::uintptr_t>(i);
    restrack::internal::intern_trace(hot[t].data(), 18);
  }
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(restrack::internal::intern_trace(hot[next].data(), 18));
    next = next + 1 == hot.size() ? 0 : next + 1;
  }
  state.counters["depot_traces"] = static_cast<double>(restrack::depot_stats().traces);
  state.counters["depot_MiB"] = static_cast<double>(restrack::depot_stats().bytes) / (1 << 20);
}
BENCHMARK(BM_DepotHits)->Arg(50)->Arg(100'000)->Arg(kMillion);

// ---- Output -----------------------------------------------------------------------------

// The display reporter of --benchmark_format, with one counter added to every run of a
// multi-threaded row: `per_thread_pct`, its throughput per thread as a percentage of the
// same row's one-thread throughput (issue 9's "per-thread throughput relative to one
// thread"; 100 is perfect scaling). Medians are compared with medians, the n-th
// repetition with the n-th; rows whose one-thread run was filtered out get no counter.
class PerThreadPercent : public benchmark::BenchmarkReporter {
 public:
  explicit PerThreadPercent(benchmark::BenchmarkReporter& display) : display_(display) {}

  bool ReportContext(const Context& context) override { return display_.ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown = runs;
    for (Run& run : shown) add_percent(run);
    display_.ReportRuns(shown);
  }

  void Finalize() override { display_.Finalize(); }

 private:
  void add_percent(Run& run) {
    if (run.run_name.threads.empty() || run.error_occurred) return;
    if (run.aggregate_name == "stddev" || run.aggregate_name == "cv") return;
    const auto rate = run.counters.find("items_per_second");
    if (rate == run.counters.end()) return;
    benchmark::BenchmarkName row = run.run_name;
    row.threads.clear();
    const std::string key =
        row.str() + "|" + run.aggregate_name + "|" + std::to_string(run.repetition_index);
    const double per_thread = rate->second.value / static_cast<double>(run.threads);
    if (run.threads == 1) one_thread_[key] = per_thread;
    const auto one = one_thread_.find(key);
    if (one == one_thread_.end() || one->second <= 0) return;
    run.counters["per_thread_pct"] = benchmark::Counter(100 * per_thread / one->second);
  }

  benchmark::BenchmarkReporter& display_;
  std::map<std::string, double> one_thread_;  // row → its one-thread rate per thread
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The default display reporter is the library's own (never freed); the wrapper only
  // adds a counter on the way through. --benchmark_out files get the runs without it.
  PerThreadPercent display(*benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&display);
  benchmark::Shutdown();
  return 0;
}
