#include "settings.h"

#include <cstdlib>
#include <mutex>

#include "logging.h"
#include "no_destructor.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

std::atomic<std::uint32_t> g_settings_word{0};

namespace {

struct SettingsState {
  std::mutex mutex;
  Options options;
  std::atomic<std::uint64_t> generation{0};
};

SettingsState& state() noexcept {
  static NoDestructor<SettingsState> instance;
  return *instance;
}

std::uint32_t pack(const Options& options) noexcept {
  std::uint32_t word = kSettingsInitialized;
  if (options.enabled) word |= kSettingsEnabled;
  if (options.capture == CaptureMethod::dwarf) word |= kSettingsDwarf;
  if (!options.report.empty()) word |= kSettingsReport;
  word |= (static_cast<std::uint32_t>(options.action) & 0xf) << 4;
  word |= static_cast<std::uint32_t>(options.trace_depth) << 8;
  return word;
}

}  // namespace

Options validated(const Options& options, const Options& fallback,
                  std::vector<std::string>* errors) {
  Options checked = options;
  auto fail = [errors](std::string message) {
    if (errors != nullptr) errors->push_back(std::move(message));
  };
  if (checked.trace_depth < 0 || checked.trace_depth > kMaxTraceDepth) {
    fail("trace_depth must be between 0 and " + std::to_string(kMaxTraceDepth) + ", got " +
         std::to_string(checked.trace_depth));
    checked.trace_depth = fallback.trace_depth;
  }
  if (checked.exit_code < 0 || checked.exit_code > 255) {
    fail("exit_code must be between 0 and 255, got " + std::to_string(checked.exit_code));
    checked.exit_code = fallback.exit_code;
  }
  if (checked.report.find('\0') != std::string::npos) {
    fail("report path contains a NUL byte; report setting unchanged");
    checked.report = fallback.report;
  }
  if (checked.suppressions.find('\0') != std::string::npos) {
    fail("suppressions path contains a NUL byte; suppressions setting unchanged");
    checked.suppressions = fallback.suppressions;
  }
  return checked;
}

std::uint32_t initialize_settings() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    // Exists from the start, so spdlog::get("restrack") finds it.
    static_cast<void>(restrack_logger());
    std::vector<std::string> errors;
    Options options;
    try {
      if (const char* text = std::getenv("RESTRACK_OPTIONS")) {
        options = validated(parse_options(text, Options{}, &errors), Options{}, &errors);
      }
    } catch (...) {
      errors.emplace_back("out of memory reading the options");
    }
    install_settings(options);
    for (const std::string& error : errors) log_error("RESTRACK_OPTIONS: " + error);
  });
  return g_settings_word.load(std::memory_order_acquire);
}

Options settings() noexcept {
  initialize_settings();
  SettingsState& current = state();
  std::lock_guard lock(current.mutex);
  try {
    return current.options;
  } catch (...) {
    return Options{};
  }
}

void install_settings(const Options& options) noexcept {
  SettingsState& current = state();
  {
    std::lock_guard lock(current.mutex);
    try {
      current.options = options;
    } catch (...) {
      // Out of memory for the paths: the numbers below still apply.
    }
    current.generation.fetch_add(1, std::memory_order_relaxed);
  }
  g_settings_word.store(pack(options), std::memory_order_release);
}

std::uint64_t settings_generation() noexcept {
  return state().generation.load(std::memory_order_acquire);
}

void lock_settings_for_fork() noexcept { state().mutex.lock(); }
void unlock_settings_after_fork() noexcept { state().mutex.unlock(); }

}  // namespace internal
RESTRACK_NAMESPACE_END
