// Internal: restrack's loggers — the bottom layer of the tracker, usable from anywhere
// (any thread, static destruction, inside a failing report).
//
// One policy for every logger restrack writes to (`restrack`, `restrack.proactor`, and the
// GoogleTest integration's messages, which go to `restrack`): a logger the application
// registered under the name before restrack first needed it is used as it is, sinks,
// level and pattern included; otherwise restrack creates one whose sink writes straight
// to descriptor 2 with write(2) — so it keeps working during static destruction, when the
// C++ streams and spdlog's console mutex may be gone — and registers it, so
// spdlog::get(name) finds it and its sinks can be changed. Loggers are never destroyed.
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

#include "restrack/config.h"

namespace spdlog {
class logger;
}

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// The logger `name` under the policy above. A logger restrack creates starts at `level`
// with `pattern` (empty: spdlog's default pattern).
spdlog::logger& named_logger(std::string_view name,
                             spdlog::level::level_enum level = spdlog::level::warn,
                             std::string_view pattern = "%v") noexcept;

// The `restrack` logger: warnings at warn level, pattern "%v".
spdlog::logger& restrack_logger() noexcept;

// Logs "restrack: <message>" at error level on the `restrack` logger; falls back to a raw
// write on descriptor 2 if logging fails.
void log_error(std::string_view message) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
