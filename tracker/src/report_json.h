// Internal: the JSON report — the top layer with exit.cc. The store is a diagnostic
// handler the dispatcher calls first; it keeps records only while `report=` is set.
#pragma once

#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Makes the report store the dispatcher's report handler (at start-up).
void install_report_store() noexcept;

// Writes the report at exit to `pattern`. Diagnostics dispatched afterwards are added to
// the file (when it is a regular file). False, after logging why, if it cannot be written.
bool write_exit_report(const std::string& pattern) noexcept;

// Held across fork().
void lock_report_for_fork() noexcept;
void unlock_report_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
