// Linux implementation of interposer.h: the table over the tracker's layers, and the
// look-up of restrack-run's preloaded library by its exported entry point.
#include <dlfcn.h>

#include <algorithm>

#include "capture.h"
#include "dispatch.h"
#include "interposer.h"
#include "own_descriptors.h"
#include "platform.h"
#include "registry.h"
#include "settings.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

__attribute__((noinline)) TraceId api_capture(int skip, int depth) noexcept {
  const HotSettings settings = hot_settings();
  if (!settings.enabled()) return kNoTrace;
  const int wanted = depth < 0 ? settings.trace_depth() : std::min(depth, settings.trace_depth());
  // +1: this function's own frame.
  const TraceId trace = capture_with_depth(wanted, settings.capture(), skip + 1);
  asm volatile("");  // not a tail call: the skip above counts this frame
  return trace;
}

__attribute__((noinline)) TraceId api_capture_site(int skip) noexcept {
  const TraceId trace = capture_site(skip + 1);
  asm volatile("");
  return trace;
}

TraceId api_intern(const std::uintptr_t* frames, int count) noexcept {
  return intern_trace(frames, count);
}

const std::uintptr_t* api_frames(TraceId id, std::size_t* count) noexcept {
  const std::span<const std::uintptr_t> frames = depot_frames(id);
  *count = frames.size();
  return frames.data();
}

void api_open(RegistryNode& node, const Kind& kind, const void* owner, DescribeFn describe,
              TraceId trace) noexcept {
  if (node.state.load(std::memory_order_relaxed) == GuardState::open) {
    unregister_node(node, GuardState::idle);
  }
  node.kind = &kind;
  node.owner = owner;
  node.describe = describe;
  node.close_trace = kNoTrace;
  if (!hot_settings().enabled()) {
    node.trace = kNoTrace;
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  node.trace = trace;
  node.thread_id = current_thread_id();
  node.opened_at = registry_now();
  register_node(node);
}

void api_close(RegistryNode& node, TraceId close_trace) noexcept {
  if (!unregister_node(node, GuardState::closed, close_trace)) {
    node.close_trace = close_trace;
    if (node.state.load(std::memory_order_relaxed) == GuardState::disabled) {
      node.state.store(GuardState::idle, std::memory_order_relaxed);
    }
  }
}

void api_forget(RegistryNode& node) noexcept { forget_node(node); }

void api_report(const Diagnostic& diagnostic) noexcept { dispatch(diagnostic); }

bool api_in_own_work() noexcept { return in_own_descriptor_work(); }

bool api_enabled() noexcept { return hot_settings().enabled(); }

void api_disable() noexcept {
  Options options = settings();
  options.enabled = false;
  install_settings(options);
}

constexpr InterposerApi kApi = {
    sizeof(InterposerApi),
    RESTRACK_ABI_VERSION,
    &api_capture,
    &api_capture_site,
    &api_intern,
    &api_frames,
    &api_open,
    &api_close,
    &api_forget,
    &fd_owner,
    &api_report,
    &api_in_own_work,
    &api_enabled,
    &api_disable,
};

}  // namespace

const InterposerApi& interposer_api() noexcept { return kApi; }

void announce_to_interposer() noexcept {
  if (!RESTRACK_TRACKING) return;
  // restrack-run's library exports this name; in a program run without it, nothing does.
  void* symbol = ::dlsym(RTLD_DEFAULT, "restrack_run_attach");
  if (symbol == nullptr) return;
  const auto attach = reinterpret_cast<RestrackRunAttachFn>(symbol);
  if (attach(&kApi)) keep_fd_owners();
}

}  // namespace internal
RESTRACK_NAMESPACE_END
