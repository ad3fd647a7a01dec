// restrack/proactor/log.h — where the proactor writes its log messages.
//
// The `restrack.proactor` spdlog logger (registered, so spdlog::get() finds it) receives
// slow-callback warnings in debug mode, exceptions escaping callbacks, the progress and
// deadline reports of a backend closing with operations in flight, and debug-level notes
// such as completions for unknown keys. It writes to stderr until you change its sinks or
// level. The logger is created on first use and never destroyed.
#pragma once

#include <memory>

#include "restrack/config.h"

namespace spdlog {
class logger;
}

RESTRACK_NAMESPACE_BEGIN

spdlog::logger& proactor_logger();

RESTRACK_NAMESPACE_END
