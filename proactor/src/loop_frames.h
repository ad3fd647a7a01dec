// How many frames of the loop's own can stand between a user's coroutine and the code
// that resumed it (run_until_complete → run_once → the ready queue → std::function →
// TaskBase::step → coroutine resumption; more in unoptimized builds). Tasks and
// operations are opened beneath them, so they ask the tracker to capture that many more
// frames: the user's outer frames (their callers up to main) then still fit in
// trace_depth.
#pragma once

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

#if defined(__OPTIMIZE__)
inline constexpr int kLoopDispatchFrames = 6;
#else
inline constexpr int kLoopDispatchFrames = 12;
#endif

}  // namespace internal
RESTRACK_NAMESPACE_END
