// The ping-pong on restrack's proactor with tracking compiled out (RESTRACK_TRACKING=0).
#include "pingpong_restrack.h"

namespace restrack_bench {

void pingpong_restrack_compiled_out(benchmark::State& state) { run_restrack_pingpong(state); }

}  // namespace restrack_bench
