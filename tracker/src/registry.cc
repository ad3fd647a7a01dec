// The registry of open resources: the guards themselves, linked into one of 64 sharded
// intrusive lists. Opening a resource allocates nothing; each thread starts on its own
// shard, so threads rarely contend. The registry is never destroyed.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>

#include "capture.h"
#include "no_destructor.h"
#include "platform.h"
#include "restrack/diagnostic.h"
#include "restrack/guard.h"
#include "restrack/live.h"
#include "runtime.h"
#include "spin_lock.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr int kShards = 64;

struct alignas(64) Shard {
  SpinLock lock;
  RegistryNode head;  // sentinel of a circular list
  std::atomic<std::size_t> count{0};
  Shard() { head.prev = head.next = &head; }
};

struct Registry {
  Shard shards[kShards];
  std::atomic<std::uint64_t> last_serial{0};
  std::atomic<std::uint32_t> next_shard{0};
};

Registry& registry() noexcept {
  static NoDestructor<Registry> instance;
  return *instance;
}

std::uint8_t shard_for_this_thread() noexcept {
  static thread_local int shard = -1;
  if (shard < 0) {
    shard =
        static_cast<int>(registry().next_shard.fetch_add(1, std::memory_order_relaxed) % kShards);
  }
  return static_cast<std::uint8_t>(shard);
}

void link(Shard& shard, RegistryNode& node) noexcept {
  node.next = &shard.head;
  node.prev = shard.head.prev;
  shard.head.prev->next = &node;
  shard.head.prev = &node;
  // Written only under the shard lock; the atomic is for live_count's lock-free read.
  shard.count.store(shard.count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void unlink(Shard& shard, RegistryNode& node) noexcept {
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
  shard.count.store(shard.count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void unregister(RegistryNode& node) noexcept {
  Shard& shard = registry().shards[node.shard];
  std::lock_guard<SpinLock> lock(shard.lock);
  unlink(shard, node);
}

std::string fallback_description(const RegistryNode& node) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, " at %p", node.owner);
  return std::string(node.kind != nullptr ? node.kind->name : "resource") + buffer;
}

std::chrono::nanoseconds age_of(const RegistryNode& node) noexcept {
  return std::chrono::nanoseconds(coarse_now_ns() - node.opened_at_ns);
}

Diagnostic diagnostic_for(const RegistryNode& node, DiagnosticType type) noexcept {
  Diagnostic diagnostic;
  diagnostic.type = type;
  diagnostic.kind = node.kind != nullptr ? node.kind->name : std::string_view("resource");
  diagnostic.allocation_trace = node.trace;
  diagnostic.first_close_trace = intern_trace(node.close_frames, node.close_frame_count);
  diagnostic.thread_id = node.thread_id;
  diagnostic.age = age_of(node);
  diagnostic.serial = node.serial;
  return diagnostic;
}

}  // namespace

std::string describe_node(const RegistryNode& node) noexcept {
  try {
    if (node.describe != nullptr) return node.describe(node.owner);
    return fallback_description(node);
  } catch (...) {
    try {
      return fallback_description(node);
    } catch (...) {
      return {};
    }
  }
}

void open_node(RegistryNode& node, const Kind& kind, const void* owner, DescribeFn describe,
               int library_frames) noexcept {
  if (node.state == GuardState::open) unregister(node);
  node.kind = &kind;
  node.owner = owner;
  node.describe = describe;
  node.close_frame_count = 0;
  const HotSettings settings = hot_settings();
  if (!settings.enabled) {
    node.trace = kNoTrace;
    node.state = GuardState::disabled;
    return;
  }
  // Skip open_node's own frame: it is always restrack's.
  if (settings.trace_depth > 0) {
    const int extra = library_frames < 0 ? 0 : library_frames;
    const int depth = settings.trace_depth + extra;
    node.trace =
        capture_with_depth(depth < kMaxTraceDepth ? depth : kMaxTraceDepth, settings.capture, 1);
  } else {
    node.trace = kNoTrace;
  }
  node.thread_id = current_thread_id();
  node.opened_at_ns = coarse_now_ns();
  node.shard = shard_for_this_thread();
  node.state = GuardState::open;
  Registry& reg = registry();
  Shard& shard = reg.shards[node.shard];
  std::lock_guard<SpinLock> lock(shard.lock);
  // Taken under the shard lock, so a node is visible in the live set no later than any
  // snapshot that counts it as opened.
  node.serial = reg.last_serial.fetch_add(1, std::memory_order_relaxed) + 1;
  link(shard, node);
}

bool close_node(RegistryNode& node) noexcept {
  switch (node.state) {
    case GuardState::open: {
      if (node.trace != kNoTrace) {
        // Skip close_node's own frame. Always by frame pointers: six frames cost a few
        // nanoseconds, where the DWARF unwinder costs a microsecond.
        node.close_frame_count =
            static_cast<std::uint8_t>(capture_frame_pointers(node.close_frames, kCloseFrames, 1));
      }
      unregister(node);
      node.state = GuardState::closed;
      return true;
    }
    case GuardState::disabled:
      node.state = GuardState::idle;
      return true;
    case GuardState::closed: {
      Diagnostic diagnostic = diagnostic_for(node, DiagnosticType::closed_twice);
      diagnostic.description = describe_node(node);
      diagnostic.site_trace = capture_site();
      dispatch(diagnostic);
      return false;
    }
    case GuardState::idle:
      return false;
  }
  return false;
}

void report_use_after_close(const RegistryNode& node) noexcept {
  Diagnostic diagnostic = diagnostic_for(node, DiagnosticType::used_after_close);
  diagnostic.description = describe_node(node);
  diagnostic.site_trace = capture_site();
  dispatch(diagnostic);
}

void report_unclosed(RegistryNode& node, std::string description, DiagnosticType type) noexcept {
  if (node.state != GuardState::open) return;
  unregister(node);
  node.state = GuardState::closed;
  Diagnostic diagnostic = diagnostic_for(node, type);
  diagnostic.description = std::move(description);
  diagnostic.site_trace = capture_site();
  dispatch(diagnostic);
}

void move_node(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept {
  if (to.state == GuardState::open) unregister(to);
  if (from.state == GuardState::open) {
    Shard& shard = registry().shards[from.shard];
    std::lock_guard<SpinLock> lock(shard.lock);
    to = from;
    to.prev->next = &to;
    to.next->prev = &to;
  } else {
    to = from;
    to.prev = to.next = nullptr;
  }
  to.owner = new_owner;
  from.prev = from.next = nullptr;
  from.state = GuardState::idle;
  from.trace = kNoTrace;
  from.close_frame_count = 0;
}

}  // namespace internal

// ---- Live set ------------------------------------------------------------------------

namespace {

template <class Filter>
std::vector<ResourceInfo> collect(Filter filter) noexcept {
  std::vector<ResourceInfo> result;
  try {
    internal::Registry& reg = internal::registry();
    const std::int64_t now = internal::coarse_now_ns();
    for (internal::Shard& shard : reg.shards) {
      std::lock_guard<internal::SpinLock> lock(shard.lock);
      for (internal::RegistryNode* node = shard.head.next; node != &shard.head; node = node->next) {
        if (!filter(*node)) continue;
        ResourceInfo info;
        info.kind = node->kind->name;
        // Describing under the shard lock: the owner cannot be closed or destroyed
        // meanwhile, since both unregister through this lock.
        info.description = internal::describe_node(*node);
        info.allocation_trace = node->trace;
        info.thread_id = node->thread_id;
        info.age = std::chrono::nanoseconds(now - node->opened_at_ns);
        info.serial = node->serial;
        info.owner = node->owner;
        result.push_back(std::move(info));
      }
    }
    std::sort(result.begin(), result.end(),
              [](const ResourceInfo& a, const ResourceInfo& b) { return a.serial < b.serial; });
  } catch (...) {
    // Out of memory: return what was gathered.
  }
  return result;
}

}  // namespace

std::vector<ResourceInfo> live_resources() noexcept {
  return collect([](const internal::RegistryNode&) { return true; });
}

std::size_t live_count() noexcept {
  std::size_t total = 0;
  for (internal::Shard& shard : internal::registry().shards) {
    total += shard.count.load(std::memory_order_relaxed);
  }
  return total;
}

Snapshot Snapshot::take() noexcept {
  return Snapshot(internal::registry().last_serial.load(std::memory_order_acquire));
}

std::vector<ResourceInfo> Snapshot::opened_since() const noexcept {
  const std::uint64_t since = serial_;
  return collect([since](const internal::RegistryNode& node) { return node.serial > since; });
}

RESTRACK_NAMESPACE_END
