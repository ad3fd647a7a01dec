// The handle of bench_tracker.cc built with tracking compiled out.
#include "bench_support.h"
#include "restrack/guard.h"

static_assert(RESTRACK_TRACKING == 0);

namespace {

constexpr restrack::Kind kBenchHandle{"bench handle"};

struct Handle {
  explicit Handle(int value) : fd(value) { guard.open(kBenchHandle, this); }
  void close() {
    if (guard.close()) fd = -1;
  }
  int fd;
  [[no_unique_address]] restrack::ResourceGuard guard;
};

}  // namespace

namespace restrack_bench {

void open_close_compiled_out(benchmark::State& state) {
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

}  // namespace restrack_bench
