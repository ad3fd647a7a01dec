// The handle of bench_tracker.cc built with tracking compiled out.
#include "bench_handle.h"

static_assert(RESTRACK_TRACKING == 0);

namespace restrack_bench {

void open_close_compiled_out(benchmark::State& state) { open_close<GuardedHandle>(state); }

}  // namespace restrack_bench
