#include "logging.h"

#include <absl/synchronization/mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "no_destructor.h"
#include "platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    write_stderr(formatted.data(), formatted.size());
  }
  void flush_() override {}
};

std::shared_ptr<spdlog::logger> adopt_or_create(std::string_view name,
                                                spdlog::level::level_enum level,
                                                std::string_view pattern) {
  const std::string key(name);
  std::shared_ptr<spdlog::logger> existing;
  try {
    existing = spdlog::get(key);
  } catch (...) {
  }
  if (existing) return existing;
  auto created = std::make_shared<spdlog::logger>(key, std::make_shared<StderrSink>());
  if (!pattern.empty()) created->set_pattern(std::string(pattern));
  created->set_level(level);
  try {
    spdlog::register_logger(created);
  } catch (...) {
    // Registered concurrently under the same name: keep ours, output still works.
  }
  return created;
}

}  // namespace

spdlog::logger& named_logger(std::string_view name, spdlog::level::level_enum level,
                             std::string_view pattern) noexcept {
  // A handful of names; each is resolved once and kept for the life of the process.
  struct Table {
    absl::Mutex mutex;
    std::vector<std::pair<std::string, std::shared_ptr<spdlog::logger>>> loggers;
  };
  static NoDestructor<Table> table;
  absl::MutexLock lock(&table->mutex);
  for (const auto& [known, logger] : table->loggers) {
    if (known == name) return *logger;
  }
  try {
    std::shared_ptr<spdlog::logger> logger = adopt_or_create(name, level, pattern);
    table->loggers.emplace_back(std::string(name), logger);
    return *logger;
  } catch (...) {
    // Out of memory: a logger that drops everything is still a logger.
    static NoDestructor<spdlog::logger> silent("restrack.silent");
    return *silent;
  }
}

spdlog::logger& restrack_logger() noexcept {
  static spdlog::logger& logger = named_logger("restrack");
  return logger;
}

void log_error(std::string_view message) noexcept {
  try {
    restrack_logger().error("restrack: {}", message);
  } catch (...) {
    write_stderr("restrack: ", 10);
    write_stderr(message.data(), message.size());
    write_stderr("\n", 1);
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
