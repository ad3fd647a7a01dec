// The exit report at scale: opens `count` resources (default 100,000) from 100 allocation
// sites, leaves them open, and exits. Run with
//   RESTRACK_OPTIONS=report_at_exit=1:report=FILE /usr/bin/time -v exit_report_program 2>/dev/null
// to see the time, the peak memory and the report's size (docs/PERFORMANCE.md).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "restrack/tracker.h"

namespace {

constexpr restrack::Kind kWidget{"widget"};

struct Widget {
  Widget() {
    guard.open(kWidget, this, [](const void*) { return std::string("widget"); });
  }
  restrack::ResourceGuard guard;
};

template <int N>
[[gnu::noinline]] Widget* open_at() {
  return new Widget();
}

template <int... N>
void open_round(std::integer_sequence<int, N...>) {
  (static_cast<void>(open_at<N>()), ...);
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 100'000;
  for (long opened = 0; opened < count; opened += 100) {
    open_round(std::make_integer_sequence<int, 100>());
  }
  return 0;
}
