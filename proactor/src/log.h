// Internal: the `restrack.proactor` logger.
//
// Slow-callback warnings in debug mode, exceptions escaping callbacks (the default
// exception handler), the progress and deadline reports of a backend closing with
// operations in flight, and debug-level notes such as completions for unknown keys. The
// logger follows the tracker's policy (tracker/src/logging.h): a logger the application
// registered under that name is used as it is; otherwise one on stderr is created and
// registered, so spdlog::get("restrack.proactor") finds it. Never destroyed.
#pragma once

#include <spdlog/logger.h>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

spdlog::logger& proactor_logger() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
