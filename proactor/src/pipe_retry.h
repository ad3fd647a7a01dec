// Internal: connect_pipe's busy-retry policy (rule 17), and a hook through which tests see
// each retry sleep exactly as it is scheduled.
#pragma once

#include <chrono>
#include <functional>

#include "restrack/config.h"
#include "restrack/proactor/future.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Rule 17: the first sleep is 1 ms, each next one twice the last, at most 100 ms.
inline constexpr std::chrono::milliseconds kPipeBusyFirstDelay{1};
inline constexpr std::chrono::milliseconds kPipeBusyMaxDelay{100};

// For tests, on the loop's thread: called with each retry's delay and the sleep future just
// before connect_pipe awaits it. Null (the default) in production.
using PipeRetryObserver =
    std::function<void(std::chrono::milliseconds delay, const Future<void>& sleep)>;
void set_pipe_retry_observer(PipeRetryObserver observer);

}  // namespace internal
RESTRACK_NAMESPACE_END
