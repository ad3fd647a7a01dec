#include "runtime.h"

#include <absl/container/flat_hash_set.h>
#include <absl/synchronization/mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <tuple>

#include "capture.h"
#include "logging.h"
#include "no_destructor.h"
#include "platform.h"
#include "restrack/live.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

using internal::NoDestructor;
using internal::restrack_logger;

// ---- Settings ------------------------------------------------------------------------

// Hot settings packed in one word: bit 0 initialized, bit 1 enabled, bit 2 dwarf
// capture, bits 8..15 trace depth.
std::atomic<std::uint32_t> g_hot{0};

constexpr std::uint32_t kInitialized = 1u << 0;
constexpr std::uint32_t kEnabled = 1u << 1;
constexpr std::uint32_t kDwarf = 1u << 2;

std::uint32_t pack(const Options& options) {
  std::uint32_t word = kInitialized;
  if (options.enabled) word |= kEnabled;
  if (options.capture == CaptureMethod::dwarf) word |= kDwarf;
  word |= static_cast<std::uint32_t>(options.trace_depth) << 8;
  return word;
}

struct SettingsState {
  absl::Mutex mutex;
  Options options;
  std::atomic<int> action{static_cast<int>(Action::warn)};
};

SettingsState& settings_state() {
  static NoDestructor<SettingsState> state;
  return *state;
}

void install(const Options& options) {
  SettingsState& state = settings_state();
  {
    absl::MutexLock lock(&state.mutex);
    state.options = options;
  }
  state.action.store(static_cast<int>(options.action), std::memory_order_relaxed);
  g_hot.store(pack(options), std::memory_order_release);
}

bool apply_with_suppressions(const Options& options, std::vector<std::string>& errors) {
  internal::load_suppressions(options.suppressions, &errors);
  install(options);
  for (const std::string& error : errors) internal::log_error(error);
  return errors.empty();
}

std::uint32_t initialize_from_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)restrack_logger();  // exists from the start, so spdlog::get("restrack") finds it
    std::vector<std::string> errors;
    Options options;
    if (const char* text = std::getenv("RESTRACK_OPTIONS")) {
      options = parse_options(text, Options{}, &errors);
      for (std::string& error : errors) error = "RESTRACK_OPTIONS: " + error;
    }
    apply_with_suppressions(options, errors);
  });
  return g_hot.load(std::memory_order_acquire);
}

// ---- Output --------------------------------------------------------------------------

class LoggingHandler final : public DiagnosticHandler {
 public:
  void on_diagnostic(const Diagnostic& diagnostic) noexcept override {
    if (!enabled.load(std::memory_order_relaxed)) return;
    std::string text = format_diagnostic(diagnostic);
    try {
      restrack_logger().warn("{}", text);
    } catch (...) {
      text += '\n';
      internal::write_stderr(text.data(), text.size());
    }
  }
  std::atomic<bool> enabled{true};
};

// ---- Dispatch ------------------------------------------------------------------------

struct DispatchState {
  static constexpr int kMaxHandlers = 32;
  absl::Mutex mutex;  // readers: dispatch; writers: add/remove
  DiagnosticHandler* handlers[kMaxHandlers] = {};
  LoggingHandler logging;
  absl::Mutex once_mutex;
  absl::flat_hash_set<std::tuple<int, std::string_view, TraceId>> seen_sites;
  std::atomic<std::uint64_t> dispatched{0};
  std::atomic<std::uint64_t> suppressed{0};
  std::atomic<std::uint64_t> repeated{0};
  std::atomic<std::uint64_t> errors{0};
};

DispatchState& dispatch_state() {
  static NoDestructor<DispatchState> state;
  return *state;
}

// ---- Exit ----------------------------------------------------------------------------

// Constructed before any static object of default priority, so destroyed after all of
// them: resources leaked by static objects are reported before the exit report.
struct ExitReport {
  ExitReport() { (void)dispatch_state(); }
  ~ExitReport() {
    if ((initialize_from_environment() & kEnabled) == 0) return;
    const Options options = current_options();
    if (options.report_at_exit) {
      for (ResourceInfo& info : live_resources()) {
        Diagnostic diagnostic;
        diagnostic.type = DiagnosticType::open_at_exit;
        diagnostic.kind = info.kind;
        diagnostic.description = std::move(info.description);
        diagnostic.allocation_trace = info.allocation_trace;
        diagnostic.thread_id = info.thread_id;
        diagnostic.age = info.age;
        diagnostic.serial = info.serial;
        internal::dispatch(diagnostic);
      }
    }
    if (!options.report.empty()) internal::mark_report_final(options.report);
    if (options.exit_code != 0 && error_count() > 0) {
      internal::exit_immediately(options.exit_code);
    }
  }
};

__attribute__((init_priority(101))) ExitReport g_exit_report;

}  // namespace

// ---- Public API ----------------------------------------------------------------------

Options current_options() noexcept {
  initialize_from_environment();
  SettingsState& state = settings_state();
  absl::MutexLock lock(&state.mutex);
  try {
    return state.options;
  } catch (...) {
    return Options{};
  }
}

bool set_options(const Options& options) noexcept {
  initialize_from_environment();
  std::vector<std::string> errors;
  Options checked = options;
  if (checked.trace_depth < 0 || checked.trace_depth > kMaxTraceDepth) {
    errors.push_back("trace_depth must be between 0 and " + std::to_string(kMaxTraceDepth) +
                     ", got " + std::to_string(checked.trace_depth));
    checked.trace_depth = current_options().trace_depth;
  }
  if (checked.exit_code < 0 || checked.exit_code > 255) {
    errors.push_back("exit_code must be between 0 and 255, got " +
                     std::to_string(checked.exit_code));
    checked.exit_code = current_options().exit_code;
  }
  return apply_with_suppressions(checked, errors);
}

bool apply_options(std::string_view text) noexcept {
  std::vector<std::string> errors;
  Options options = parse_options(text, current_options(), &errors);
  const bool applied = set_options(options);
  for (const std::string& error : errors) internal::log_error(error);
  return applied && errors.empty();
}

void add_handler(DiagnosticHandler* handler) noexcept {
  DispatchState& state = dispatch_state();
  absl::MutexLock lock(&state.mutex);
  for (DiagnosticHandler*& slot : state.handlers) {
    if (slot == nullptr) {
      slot = handler;
      return;
    }
  }
  internal::log_error("too many diagnostic handlers (at most 32); handler not added");
}

void remove_handler(DiagnosticHandler* handler) noexcept {
  DispatchState& state = dispatch_state();
  absl::MutexLock lock(&state.mutex);
  for (DiagnosticHandler*& slot : state.handlers) {
    if (slot == handler) slot = nullptr;
  }
}

void set_default_output(bool enabled) noexcept {
  dispatch_state().logging.enabled.store(enabled, std::memory_order_relaxed);
}

std::uint64_t error_count() noexcept {
  return dispatch_state().errors.load(std::memory_order_relaxed);
}

DiagnosticCounts diagnostic_counts() noexcept {
  DispatchState& state = dispatch_state();
  return {state.dispatched.load(std::memory_order_relaxed),
          state.suppressed.load(std::memory_order_relaxed),
          state.repeated.load(std::memory_order_relaxed),
          state.errors.load(std::memory_order_relaxed)};
}

void reset_diagnostic_counts() noexcept {
  DispatchState& state = dispatch_state();
  state.dispatched = 0;
  state.suppressed = 0;
  state.repeated = 0;
  state.errors = 0;
  absl::MutexLock lock(&state.once_mutex);
  state.seen_sites.clear();
}

bool write_report(std::string_view path) noexcept {
  try {
    return internal::write_report_file(std::string(path));
  } catch (...) {
    return false;
  }
}

namespace internal {

HotSettings hot_settings() noexcept {
  std::uint32_t word = g_hot.load(std::memory_order_acquire);
  if ((word & kInitialized) == 0) word = initialize_from_environment();
  return {(word & kEnabled) != 0, static_cast<int>((word >> 8) & 0xff),
          (word & kDwarf) != 0 ? CaptureMethod::dwarf : CaptureMethod::frame_pointer};
}

__attribute__((noinline)) TraceId capture_with_depth(int depth, CaptureMethod method,
                                                     int skip) noexcept {
  if (depth <= 0) return kNoTrace;
  std::uintptr_t frames[kMaxTraceDepth + kLibraryFrameAllowance];
  const int wanted = depth + kLibraryFrameAllowance;
  const int count = method == CaptureMethod::dwarf ? capture_dwarf(frames, wanted, skip)
                                                   : capture_frame_pointers(frames, wanted, skip);
  return intern_trace(frames, count);
}

TraceId capture_site() noexcept {
  // Only on the way to a report, so the slower DWARF unwinder is affordable — and it
  // sees through frames without frame pointers (C libraries, a sanitizer's exit hook)
  // that would end a frame-pointer walk before it reaches the user's code.
  const HotSettings settings = hot_settings();
  return capture_with_depth(settings.trace_depth > 16 ? settings.trace_depth : 16,
                            CaptureMethod::dwarf);
}

void dispatch(const Diagnostic& diagnostic) noexcept {
  const HotSettings settings = hot_settings();
  if (!settings.enabled) return;
  DispatchState& state = dispatch_state();
  const auto action = static_cast<Action>(settings_state().action.load(std::memory_order_relaxed));
  if (action == Action::ignore) return;
  if (is_suppressed(diagnostic)) {
    state.suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (action == Action::once) {
    absl::MutexLock lock(&state.once_mutex);
    try {
      if (!state.seen_sites
               .emplace(static_cast<int>(diagnostic.type), diagnostic.kind,
                        diagnostic.allocation_trace)
               .second) {
        state.repeated.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    } catch (...) {
      // Out of memory for the set: report rather than lose the diagnostic.
    }
  }
  state.dispatched.fetch_add(1, std::memory_order_relaxed);
  if (action == Action::error) state.errors.fetch_add(1, std::memory_order_relaxed);
  record_for_report(diagnostic);
  {
    absl::ReaderMutexLock lock(&state.mutex);
    state.logging.on_diagnostic(diagnostic);
    for (DiagnosticHandler* handler : state.handlers) {
      if (handler != nullptr) handler->on_diagnostic(diagnostic);
    }
  }
  if (action == Action::abort) {
    restrack_logger().flush();
    std::abort();
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END

RESTRACK_NAMESPACE_BEGIN

void report_diagnostic(DiagnosticType type, const Kind& kind, std::string description,
                       TraceId allocation_trace) noexcept {
  if (!RESTRACK_TRACKING) return;
  Diagnostic diagnostic;
  diagnostic.type = type;
  diagnostic.kind = kind.name;
  diagnostic.description = std::move(description);
  diagnostic.allocation_trace = allocation_trace;
  diagnostic.site_trace = internal::capture_site();
  diagnostic.thread_id = internal::current_thread_id();
  internal::dispatch(diagnostic);
}

RESTRACK_NAMESPACE_END
