#include "log.h"

#include "logging.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

spdlog::logger& proactor_logger() noexcept {
  // Info level: a closing loop's progress reports (rule 10) are shown by default.
  static spdlog::logger& logger =
      named_logger("restrack.proactor", spdlog::level::info, "[restrack.proactor] %l: %v");
  return logger;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
