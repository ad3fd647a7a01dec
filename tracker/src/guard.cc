// What a ResourceGuard does (restrack/guard.h): capture and register at open, and report
// misuse and leaks (the close itself is the registry's: close_node in registry.cc). Above
// the registry and the dispatcher, which it joins.
#include <algorithm>

#include "capture.h"
#include "dispatch.h"
#include "platform.h"
#include "registry.h"
#include "restrack/guard.h"
#include "settings.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// Keeps the call before it out of tail position: a sibling call would take the caller's
// frame off the stack, and the site captures below skip a fixed number of frames.
#define RESTRACK_NO_TAIL_CALL() asm volatile("")

Diagnostic diagnostic_for(const RegistryNode& node, DiagnosticType type) noexcept {
  Diagnostic diagnostic;
  diagnostic.type = type;
  diagnostic.kind = node.kind != nullptr ? node.kind->name : std::string_view("resource");
  diagnostic.allocation_trace = node.trace;
  diagnostic.thread_id = node.thread_id;
  diagnostic.age = std::chrono::nanoseconds(age_ns(node.opened_at));
  return diagnostic;
}

// Reports a misuse of a closed node, called from one of the tracker's entry points.
__attribute__((noinline)) void report_misuse(const RegistryNode& node,
                                             DiagnosticType type) noexcept {
  Diagnostic diagnostic = diagnostic_for(node, type);
  diagnostic.first_close_trace = node.close_trace;
  diagnostic.description = describe_node(node);
  diagnostic.site_trace = capture_site(2);  // this function and the tracker's entry point
  dispatch(diagnostic);
}

}  // namespace

__attribute__((noinline)) void open_node(RegistryNode& node, const Kind& kind, const void* owner,
                                         DescribeFn describe, int library_frames) noexcept {
  if (node.state.load(std::memory_order_relaxed) == GuardState::open) {
    unregister_node(node, GuardState::idle);
  }
  node.kind = &kind;
  node.owner = owner;
  node.describe = describe;
  node.close_trace = kNoTrace;
  const HotSettings settings = hot_settings();
  if (!settings.enabled()) {
    node.trace = kNoTrace;
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  const int depth = settings.trace_depth();
  if (depth > 0) {
    // Clamped before adding: no overflow, whatever the caller passes.
    const int extra = std::clamp(library_frames, 0, kMaxCaptureFrames);
    // Skip open_node's own frame: it is always restrack's.
    node.trace =
        capture_with_depth(std::min(depth + extra, kMaxCaptureFrames), settings.capture(), 1);
  } else {
    node.trace = kNoTrace;
  }
  register_node(node);
}

__attribute__((noinline)) void report_closed_twice(const RegistryNode& node) noexcept {
  report_misuse(node, DiagnosticType::closed_twice);
  RESTRACK_NO_TAIL_CALL();
}

void forget_node(RegistryNode& node) noexcept {
  if (!unregister_node(node, GuardState::idle)) {
    if (node.state.load(std::memory_order_relaxed) == GuardState::disabled) {
      node.state.store(GuardState::idle, std::memory_order_relaxed);
    }
  }
}

__attribute__((noinline)) void report_use_after_close(const RegistryNode& node) noexcept {
  report_misuse(node, DiagnosticType::used_after_close);
  RESTRACK_NO_TAIL_CALL();
}

__attribute__((noinline)) void release_and_report(RegistryNode& node,
                                                  void (*release)(void*) noexcept, void* context,
                                                  DiagnosticType type) noexcept {
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) {
    if (release != nullptr) release(context);
    return;
  }
  // Describe while the resource is intact, unregister before it is released (a query on
  // another thread must never describe a released resource), release, then report.
  std::string description = describe_node(node);
  const std::uint64_t serial = serial_of(node);
  const bool unregistered = unregister_node(node, GuardState::closed);
  if (release != nullptr) release(context);
  if (!unregistered) return;  // closed meanwhile by another thread: nothing leaked
  Diagnostic diagnostic = diagnostic_for(node, type);
  diagnostic.description = std::move(description);
  diagnostic.serial = serial;
  diagnostic.site_trace = capture_site(1);  // this function
  dispatch(diagnostic);
}

void move_node(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept {
  // The resource `to` still holds is lost by the assignment.
  if (to.state.load(std::memory_order_relaxed) == GuardState::open) {
    release_and_report(to, nullptr, nullptr, DiagnosticType::unclosed);
  }
  move_registration(to, from, new_owner);
}

}  // namespace internal

TraceId capture_trace() noexcept {
  const internal::HotSettings settings = internal::hot_settings();
  if (!RESTRACK_TRACKING || !settings.enabled()) return kNoTrace;
  return internal::capture_with_depth(settings.trace_depth(), settings.capture(), 1);
}

void report_diagnostic(DiagnosticType type, const Kind& kind, std::string description,
                       TraceId allocation_trace) noexcept {
  if (!RESTRACK_TRACKING) return;
  Diagnostic diagnostic;
  diagnostic.type = type;
  diagnostic.kind = kind.name;
  diagnostic.description = std::move(description);
  diagnostic.allocation_trace = allocation_trace;
  diagnostic.site_trace = internal::capture_site(1);  // this function
  diagnostic.thread_id = internal::current_thread_id();
  internal::dispatch(diagnostic);
}

RESTRACK_NAMESPACE_END
