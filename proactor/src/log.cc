#include "log.h"

#include "logging.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

spdlog::logger& proactor_logger() noexcept {
  static spdlog::logger& logger = named_logger("restrack.proactor");
  return logger;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
