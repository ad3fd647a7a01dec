#include "dispatch.h"

#include <absl/container/flat_hash_set.h>
#include <spdlog/logger.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <tuple>

#include "logging.h"
#include "no_destructor.h"
#include "platform.h"
#include "settings.h"
#include "suppressions_internal.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr int kMaxHandlers = 32;
constexpr std::size_t kMaxWaiting = 64;

class LoggingHandler final : public DiagnosticHandler {
 public:
  void on_diagnostic(const Diagnostic& diagnostic) noexcept override {
    if (!enabled.load(std::memory_order_relaxed)) return;
    std::string text = format_diagnostic(diagnostic);
    try {
      restrack_logger().warn("{}", text);
    } catch (...) {
      text += '\n';
      write_stderr(text.data(), text.size());
    }
  }
  std::atomic<bool> enabled{true};
};

// A handler slot. `users` counts dispatches inside the handler right now, so that
// remove_handler can wait for them — no lock is held while a handler runs.
struct Slot {
  std::atomic<DiagnosticHandler*> handler{nullptr};
  std::atomic<int> users{0};
};

struct DispatchState {
  Slot slots[kMaxHandlers];
  LoggingHandler logging;
  std::atomic<DiagnosticHandler*> report{nullptr};
  std::mutex once_mutex;
  absl::flat_hash_set<std::tuple<int, std::string_view, TraceId>> seen_sites;
  std::atomic<std::uint64_t> dispatched{0};
  std::atomic<std::uint64_t> suppressed{0};
  std::atomic<std::uint64_t> repeated{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<bool> immediate{false};
};

DispatchState& state() noexcept {
  static NoDestructor<DispatchState> instance;
  return *instance;
}

// This thread's handler calls in progress, and the diagnostics raised meanwhile.
thread_local int tls_depth = 0;
thread_local int tls_inside[kMaxHandlers] = {};
thread_local std::deque<Diagnostic>* tls_waiting = nullptr;

void call_handler(Slot& slot, int index, const Diagnostic& diagnostic) noexcept {
  DiagnosticHandler* handler = slot.handler.load();
  if (handler == nullptr) return;
  // Announce, then look again: remove_handler clears the slot, then waits for users.
  slot.users.fetch_add(1);
  handler = slot.handler.load();
  if (handler != nullptr) {
    ++tls_inside[index];
    handler->on_diagnostic(diagnostic);
    --tls_inside[index];
  }
  slot.users.fetch_sub(1);
}

void deliver(DispatchState& dispatcher, const Diagnostic& diagnostic) noexcept {
  ++tls_depth;
  if (DiagnosticHandler* report = dispatcher.report.load(std::memory_order_acquire)) {
    report->on_diagnostic(diagnostic);
  }
  dispatcher.logging.on_diagnostic(diagnostic);
  for (int i = 0; i < kMaxHandlers; ++i) call_handler(dispatcher.slots[i], i, diagnostic);
  --tls_depth;
}

bool first_of_its_site(DispatchState& dispatcher, const Diagnostic& diagnostic) noexcept {
  std::lock_guard lock(dispatcher.once_mutex);
  try {
    return dispatcher.seen_sites
        .emplace(static_cast<int>(diagnostic.type), diagnostic.kind, diagnostic.allocation_trace)
        .second;
  } catch (...) {
    return true;  // out of memory for the set: report rather than lose the diagnostic
  }
}

}  // namespace

void dispatch(const Diagnostic& diagnostic) noexcept {
  const HotSettings settings = hot_settings();
  if (!settings.enabled()) return;
  const Action action = settings.action();
  if (action == Action::ignore) return;
  DispatchState& dispatcher = state();
  if (tls_depth > 0 && !dispatcher.immediate.load(std::memory_order_relaxed)) {
    // Raised by a handler: it waits for the handlers of the current diagnostic.
    try {
      if (tls_waiting == nullptr) tls_waiting = new std::deque<Diagnostic>();
      if (tls_waiting->size() < kMaxWaiting) {
        tls_waiting->push_back(diagnostic);
        return;
      }
    } catch (...) {
    }
    dispatcher.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (is_suppressed(diagnostic)) {
    dispatcher.suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (action == Action::once && !first_of_its_site(dispatcher, diagnostic)) {
    dispatcher.repeated.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  dispatcher.dispatched.fetch_add(1, std::memory_order_relaxed);
  if (action == Action::error) dispatcher.errors.fetch_add(1, std::memory_order_relaxed);
  deliver(dispatcher, diagnostic);
  if (action == Action::abort) {
    try {
      restrack_logger().flush();
    } catch (...) {
    }
    std::abort();
  }
  // What the handlers raised, in order, now that they have returned.
  while (tls_depth == 0 && tls_waiting != nullptr && !tls_waiting->empty()) {
    Diagnostic next = std::move(tls_waiting->front());
    tls_waiting->pop_front();
    dispatch(next);
  }
}

void set_report_handler(DiagnosticHandler* handler) noexcept {
  state().report.store(handler, std::memory_order_release);
}

void dispatch_immediately_from_now_on() noexcept {
  state().immediate.store(true, std::memory_order_relaxed);
}

void lock_dispatch_for_fork() noexcept { state().once_mutex.lock(); }
void unlock_dispatch_after_fork() noexcept { state().once_mutex.unlock(); }

}  // namespace internal

void add_handler(DiagnosticHandler* handler) noexcept {
  if (handler == nullptr) return;
  for (internal::Slot& slot : internal::state().slots) {
    DiagnosticHandler* expected = nullptr;
    if (slot.handler.compare_exchange_strong(expected, handler)) return;
  }
  internal::log_error("too many diagnostic handlers (at most 32); handler not added");
}

void remove_handler(DiagnosticHandler* handler) noexcept {
  if (handler == nullptr) return;
  internal::DispatchState& dispatcher = internal::state();
  for (int i = 0; i < internal::kMaxHandlers; ++i) {
    internal::Slot& slot = dispatcher.slots[i];
    DiagnosticHandler* expected = handler;
    if (!slot.handler.compare_exchange_strong(expected, nullptr)) continue;
    // Wait for other threads' calls of it; this thread's own (a handler removing itself)
    // are on the stack below us and end when we return.
    while (slot.users.load() > internal::tls_inside[i]) internal::yield_thread();
  }
}

void set_default_output(bool enabled) noexcept {
  internal::state().logging.enabled.store(enabled, std::memory_order_relaxed);
}

std::uint64_t error_count() noexcept {
  return internal::state().errors.load(std::memory_order_relaxed);
}

DiagnosticCounts diagnostic_counts() noexcept {
  internal::DispatchState& dispatcher = internal::state();
  return {dispatcher.dispatched.load(std::memory_order_relaxed),
          dispatcher.suppressed.load(std::memory_order_relaxed),
          dispatcher.repeated.load(std::memory_order_relaxed),
          dispatcher.errors.load(std::memory_order_relaxed),
          dispatcher.dropped.load(std::memory_order_relaxed)};
}

void reset_diagnostic_counts() noexcept {
  internal::DispatchState& dispatcher = internal::state();
  dispatcher.dispatched = 0;
  dispatcher.suppressed = 0;
  dispatcher.repeated = 0;
  dispatcher.errors = 0;
  dispatcher.dropped = 0;
  std::lock_guard lock(dispatcher.once_mutex);
  dispatcher.seen_sites.clear();
}

RESTRACK_NAMESPACE_END
