#include "restrack/proactor/log.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

RESTRACK_NAMESPACE_BEGIN

spdlog::logger& proactor_logger() {
  // Never destroyed: loops and backends may log while static objects are torn down.
  static std::shared_ptr<spdlog::logger>* const logger = [] {
    auto* created = new std::shared_ptr<spdlog::logger>(std::make_shared<spdlog::logger>(
        "restrack.proactor", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
    try {
      spdlog::register_logger(*created);
    } catch (const spdlog::spdlog_ex&) {
      // A logger of that name exists already (registered by the application); ours still
      // works, it is just not the one spdlog::get() returns.
    }
    return created;
  }();
  return **logger;
}

RESTRACK_NAMESPACE_END
