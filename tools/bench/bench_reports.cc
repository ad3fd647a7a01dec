// What a report costs when its allocation site is new (symbolization included): the first
// report of a process, and 10,000 reports from 10,000 sites each seen for the first time.
// Every site is a function of its own (a template instantiated 10,000 times), so each
// report symbolizes addresses never seen before. Results: docs/PERFORMANCE.md.
#include <chrono>
#include <utility>

#include <benchmark/benchmark.h>

#include "restrack/tracker.h"

namespace {

constexpr restrack::Kind kWidget{"widget"};

struct Widget {
  Widget() { guard.open(kWidget, this); }
  ~Widget() {
    guard.release_and_warn([]() noexcept {});
  }
  restrack::ResourceGuard guard;
};

// Formats each diagnostic as the default logger would, and drops the text.
class Formatting final : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    benchmark::DoNotOptimize(restrack::format_diagnostic(diagnostic));
    ++reports;
  }
  std::size_t reports = 0;
};

template <int N>
[[gnu::noinline]] void leak_at() {
  Widget leaked;
  benchmark::DoNotOptimize(&leaked);
}

template <int Base, int... N>
void leak_block(std::integer_sequence<int, N...>) {
  (leak_at<Base + N>(), ...);
}

constexpr int kBlock = 1000;
template <int... Block>
void leak_everywhere(std::integer_sequence<int, Block...>) {
  (leak_block<Block * kBlock>(std::make_integer_sequence<int, kBlock>()), ...);
}

Formatting* install() {
  static Formatting handler;
  static const bool installed = [] {
    restrack::set_default_output(false);
    restrack::add_handler(&handler);
    return true;
  }();
  static_cast<void>(installed);
  return &handler;
}

// Registered first, so it runs first: the process has reported nothing yet.
void BM_FirstReport(benchmark::State& state) {
  install();
  for (auto _ : state) leak_at<-1>();
}
BENCHMARK(BM_FirstReport)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_NewSiteReports_10000(benchmark::State& state) {
  Formatting* handler = install();
  for (auto _ : state) leak_everywhere(std::make_integer_sequence<int, 10>());
  state.counters["reports"] = static_cast<double>(handler->reports);
}
BENCHMARK(BM_NewSiteReports_10000)->Iterations(1)->Unit(benchmark::kMillisecond);

// The same 10,000 sites again: everything is cached.
void BM_KnownSiteReports_10000(benchmark::State& state) {
  install();
  for (auto _ : state) leak_everywhere(std::make_integer_sequence<int, 10>());
}
BENCHMARK(BM_KnownSiteReports_10000)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
