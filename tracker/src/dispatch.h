// Internal: dispatch — where a Diagnostic goes through the action, the suppressions and
// `once`, is counted, and reaches the handlers (the report writer, the `restrack`
// logger, the user's). Above symbolize/format and suppressions, below guard.cc and the
// report/exit layer, which installs the report writer here.
#pragma once

#include "restrack/config.h"
#include "restrack/diagnostic.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Sends a diagnostic through action, suppressions and the handlers. Re-entrant: called
// from inside a handler on the same thread, the diagnostic waits until the handlers of
// the current one have returned.
void dispatch(const Diagnostic& diagnostic) noexcept;

// The report writer's handler, called before every other one (null: none).
void set_report_handler(DiagnosticHandler* handler) noexcept;

// From now on a dispatch inside a handler on the same thread runs at once instead of
// waiting: the process is exiting (from inside a handler, perhaps) and nothing after the
// exit report would deliver it.
void dispatch_immediately_from_now_on() noexcept;

// Held across fork().
void lock_dispatch_for_fork() noexcept;
void unlock_dispatch_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
