#include "registry.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <type_traits>

#include "logging.h"
#include "platform.h"
#include "spin_lock.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::uint32_t kChunkEntries = 4096;
constexpr std::uint32_t kMaxChunks = 1024;  // 4 M slots per shard
constexpr std::uint32_t kMaxShards = 4096;
constexpr std::uint64_t kJournalSize = 4096;  // recent opens per shard, for opened_since
constexpr int kShardShift = 48;
constexpr std::uint64_t kLocalMask = (std::uint64_t{1} << kShardShift) - 1;
// A query holds a shard's lock for at most this many describe calls (or entries looked
// at), so that the shard's own thread never waits long.
constexpr int kDescribesPerHold = 64;
constexpr std::uint32_t kEntriesPerHold = 16384;

struct Entry {
  RegistryNode* node;  // null: free
  std::uint64_t serial;
};

struct JournalEntry {
  std::uint32_t slot;
  std::uint64_t serial;
};

struct alignas(64) Shard {
  explicit Shard(std::uint16_t shard_index) : index(shard_index) {}

  Entry& at(std::uint32_t slot) noexcept {
    return chunks[slot / kChunkEntries][slot % kChunkEntries];
  }

  // A slot for a new entry; false when memory or slots run out.
  bool allocate(std::uint32_t& slot) noexcept {
    if (!free.empty()) {
      slot = free.back();
      free.pop_back();
      return true;
    }
    const std::uint32_t chunk = used / kChunkEntries;
    if (chunk >= kMaxChunks) return false;
    if (chunks[chunk] == nullptr) {
      chunks[chunk] = static_cast<Entry*>(std::calloc(kChunkEntries, sizeof(Entry)));
      if (chunks[chunk] == nullptr) return false;
    }
    slot = used++;
    return true;
  }

  SpinLock lock;
  const std::uint16_t index;
  std::atomic<std::uint64_t> serial{0};  // written under `lock`; read by snapshots
  std::atomic<std::size_t> live{0};      // written under `lock`; read by live_count
  std::uint32_t used = 0;                // slots handed out so far
  std::vector<std::uint32_t> free;
  JournalEntry* journal = nullptr;
  Entry* chunks[kMaxChunks] = {};
};

// Constant-initialized and trivially destructible: usable before any constructor has
// run and after every destructor, with no initialization check on the hot path.
struct Registry {
  // Creating and recycling shards (rare). A spin lock rather than std::mutex: it is
  // constant-initialized on every platform, and mingw-w64's std::mutex (winpthreads) is not.
  SpinLock pool_mutex;
  std::atomic<Shard*> shards[kMaxShards] = {};
  std::atomic<std::uint32_t> count{0};
  Shard* unowned[kMaxShards] = {};  // guarded by pool_mutex: shards of threads that ended
  std::uint32_t unowned_count = 0;  // guarded by pool_mutex
  std::uint32_t next_shared = 0;    // guarded by pool_mutex
};
static_assert(std::is_trivially_destructible_v<Registry>);

constinit Registry g_registry;

Registry& registry() noexcept { return g_registry; }

thread_local Shard* tls_shard = nullptr;
// The shard whose lock a query on this thread holds while it describes resources: a
// describe callback that opens or closes a resource on that shard must not wait for
// itself. Only queries write it; opens and closes only read it.
thread_local Shard* tls_query_locked = nullptr;
// Set when an open or close happens while this thread's query holds a lock: a describe
// callback misbehaved (describe_node replaces its text).
thread_local bool tls_describe_misbehaved = false;

// The lock of an open, close or move.
class ShardLock {
 public:
  explicit ShardLock(Shard& shard) noexcept : shard_(&shard) {
    if (tls_query_locked != nullptr) {
      tls_describe_misbehaved = true;
      if (tls_query_locked == shard_) shard_ = nullptr;  // held by this thread's query
    }
    if (shard_ != nullptr) shard_->lock.lock();
  }
  ~ShardLock() {
    if (shard_ != nullptr) shard_->lock.unlock();
  }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;

 private:
  Shard* shard_;
};

// The lock of a query's batch: describe callbacks run under it.
class QueryLock {
 public:
  explicit QueryLock(Shard& shard) noexcept : shard_(shard), previous_(tls_query_locked) {
    if (previous_ != &shard_) shard_.lock.lock();
    tls_query_locked = &shard_;
  }
  ~QueryLock() {
    tls_query_locked = previous_;
    if (previous_ != &shard_) shard_.lock.unlock();
  }
  QueryLock(const QueryLock&) = delete;
  QueryLock& operator=(const QueryLock&) = delete;

 private:
  Shard& shard_;
  Shard* previous_;
};

// Hands the thread's shard on when the thread ends; resources it opened stay registered.
struct ShardRelease {
  ~ShardRelease() {
    Shard* shard = std::exchange(tls_shard, nullptr);
    if (shard == nullptr) return;
    Registry& reg = registry();
    std::lock_guard lock(reg.pool_mutex);
    if (reg.unowned_count < kMaxShards) reg.unowned[reg.unowned_count++] = shard;
  }
};
thread_local ShardRelease tls_release;

}  // namespace

// Defined by exit.cc; referencing it makes the linker keep the tracker's lifetime object
// (start-up and exit report) in every program that opens a tracked resource.
extern const bool kLifetimeLinked;

namespace {

Shard* acquire_shard() noexcept {
  if (!kLifetimeLinked) return nullptr;
  Registry& reg = registry();
  Shard* shard = nullptr;
  {
    std::lock_guard lock(reg.pool_mutex);
    if (reg.unowned_count > 0) {
      shard = reg.unowned[--reg.unowned_count];
    } else if (const std::uint32_t count = reg.count.load(std::memory_order_relaxed);
               count < kMaxShards) {
      shard = new (std::nothrow) Shard(static_cast<std::uint16_t>(count));
      if (shard != nullptr) {
        shard->journal =
            static_cast<JournalEntry*>(std::calloc(kJournalSize, sizeof(JournalEntry)));
        reg.shards[count].store(shard, std::memory_order_release);
        reg.count.store(count + 1, std::memory_order_release);
      }
    }
    if (shard == nullptr) {
      // More threads alive at once than shards: share one (its lock keeps it correct).
      const std::uint32_t count = reg.count.load(std::memory_order_relaxed);
      if (count == 0) return nullptr;
      shard = reg.shards[reg.next_shared++ % count].load(std::memory_order_relaxed);
    }
  }
  tls_shard = shard;
  static_cast<void>(&tls_release);  // registers the hand-on at thread end
  return shard;
}

Shard* shard_at(std::uint16_t index) noexcept {
  return registry().shards[index].load(std::memory_order_acquire);
}

std::uint64_t composite(const Shard& shard, std::uint64_t local) noexcept {
  return (std::uint64_t{shard.index} << kShardShift) | local;
}

// Open times are kept in units of 2^20 ns (about a millisecond), truncated to 32 bits: a
// shift instead of a division on every open, and ages are right for 49 days.
constexpr int kTimeShift = 20;
std::uint32_t time_units(std::int64_t ns) noexcept {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> kTimeShift);
}
std::int64_t age_at(std::int64_t now_ns, std::uint32_t opened_at) noexcept {
  const std::uint32_t units = time_units(now_ns) - opened_at;  // modulo 2^32
  return static_cast<std::int64_t>(std::uint64_t{units} << kTimeShift);
}

thread_local int tls_describing = 0;

std::string fallback_description(const RegistryNode& node) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, " at %p", node.owner);
  return std::string(node.kind != nullptr ? node.kind->name : "resource") + buffer;
}

ResourceInfo info_of(const Entry& entry, const Shard& shard, std::int64_t now_ns) {
  const RegistryNode& node = *entry.node;
  ResourceInfo info;
  info.kind = node.kind->name;
  // Described under the shard lock: the owner cannot be closed or destroyed meanwhile,
  // since both unregister through this lock.
  info.description = describe_node(node);
  info.allocation_trace = node.trace;
  info.thread_id = node.thread_id;
  info.age = std::chrono::nanoseconds(age_at(now_ns, node.opened_at));
  info.serial = composite(shard, entry.serial);
  info.owner = node.owner;
  return info;
}

// Every open entry of `shard` newer than `threshold`, a locked batch at a time.
void scan_shard(Shard& shard, std::uint64_t threshold, std::int64_t now_ns,
                const std::function<void(std::vector<ResourceInfo>&)>& visit) {
  std::uint32_t next = 0;
  while (true) {
    std::vector<ResourceInfo> batch;
    bool finished = false;
    {
      QueryLock lock(shard);
      const std::uint32_t end = shard.used;
      const std::uint32_t stop = end - next > kEntriesPerHold ? next + kEntriesPerHold : end;
      for (; next < stop && batch.size() < kDescribesPerHold; ++next) {
        const Entry& entry = shard.at(next);
        if (entry.node == nullptr || entry.serial <= threshold) continue;
        batch.push_back(info_of(entry, shard, now_ns));
      }
      finished = next >= end;
    }
    if (!batch.empty()) visit(batch);
    if (finished) return;
  }
}

// The entries opened after `threshold` through the shard's journal, when it still reaches
// back that far: a cost in proportion to what was opened since. False otherwise.
bool scan_journal(Shard& shard, std::uint64_t threshold, std::int64_t now_ns,
                  const std::function<void(std::vector<ResourceInfo>&)>& visit) {
  std::vector<JournalEntry> recent;
  {
    QueryLock lock(shard);
    const std::uint64_t last = shard.serial.load(std::memory_order_relaxed);
    if (last - threshold > kJournalSize || shard.journal == nullptr) return false;
    recent.reserve(last - threshold);
    for (std::uint64_t serial = threshold + 1; serial <= last; ++serial) {
      recent.push_back(shard.journal[serial % kJournalSize]);
    }
  }
  for (std::size_t next = 0; next < recent.size();) {
    std::vector<ResourceInfo> batch;
    {
      QueryLock lock(shard);
      for (; next < recent.size() && batch.size() < kDescribesPerHold; ++next) {
        const Entry& entry = shard.at(recent[next].slot);
        // Still the open it journaled, not a later one in a reused slot.
        if (entry.node == nullptr || entry.serial != recent[next].serial) continue;
        batch.push_back(info_of(entry, shard, now_ns));
      }
    }
    if (!batch.empty()) visit(batch);
  }
  return true;
}

}  // namespace

std::uint32_t registry_now() noexcept { return time_units(coarse_now_ns()); }

std::int64_t age_ns(std::uint32_t opened_at) noexcept { return age_at(coarse_now_ns(), opened_at); }

void register_node(RegistryNode& node) noexcept {
  Shard* shard = tls_shard != nullptr ? tls_shard : acquire_shard();
  if (shard == nullptr) {
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  ShardLock lock(*shard);
  std::uint32_t slot = 0;
  if (!shard->allocate(slot)) {
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t serial = shard->serial.load(std::memory_order_relaxed) + 1;
  Entry& entry = shard->at(slot);
  entry.node = &node;
  entry.serial = serial;
  if (shard->journal != nullptr) shard->journal[serial % kJournalSize] = JournalEntry{slot, serial};
  shard->live.store(shard->live.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  shard->serial.store(serial, std::memory_order_release);
  node.shard = shard->index;
  node.slot = slot;
  node.state.store(GuardState::open, std::memory_order_relaxed);
}

bool unregister_node(RegistryNode& node, GuardState next, TraceId close_trace) noexcept {
  // Acquire: a thread that finds the node closed by another also sees its close trace.
  if (node.state.load(std::memory_order_acquire) != GuardState::open) return false;
  Shard* shard = shard_at(node.shard);
  if (shard == nullptr) return false;
  ShardLock lock(*shard);
  // Checked again under the lock: of two threads closing at once, one unregisters and
  // the other finds it closed.
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return false;
  Entry& entry = shard->at(node.slot);
  entry.node = nullptr;
  entry.serial = 0;
  try {
    shard->free.push_back(node.slot);
  } catch (...) {
    // Out of memory: the slot is lost, nothing else.
  }
  shard->live.store(shard->live.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  node.close_trace = close_trace;
  node.state.store(next, std::memory_order_release);
  return true;
}

void move_registration(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept {
  const auto copy_fields = [&] {
    to.kind = from.kind;
    to.owner = new_owner;
    to.describe = from.describe;
    to.trace = from.trace;
    to.close_trace = from.close_trace;
    to.thread_id = from.thread_id;
    to.opened_at = from.opened_at;
    to.slot = from.slot;
    to.shard = from.shard;
  };
  if (from.state.load(std::memory_order_relaxed) == GuardState::open) {
    if (Shard* shard = shard_at(from.shard)) {
      ShardLock lock(*shard);
      if (from.state.load(std::memory_order_relaxed) == GuardState::open) {
        // Everything a query reads changes under the lock, the owner pointer included.
        copy_fields();
        shard->at(from.slot).node = &to;
        to.state.store(GuardState::open, std::memory_order_relaxed);
        from.state.store(GuardState::idle, std::memory_order_relaxed);
        from.trace = kNoTrace;
        from.close_trace = kNoTrace;
        return;
      }
    }
  }
  copy_fields();
  to.state.store(from.state.load(std::memory_order_relaxed), std::memory_order_relaxed);
  from.state.store(GuardState::idle, std::memory_order_relaxed);
  from.trace = kNoTrace;
  from.close_trace = kNoTrace;
}

std::uint64_t serial_of(const RegistryNode& node) noexcept {
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return 0;
  Shard* shard = shard_at(node.shard);
  if (shard == nullptr) return 0;
  ShardLock lock(*shard);
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return 0;
  return composite(*shard, shard->at(node.slot).serial);
}

std::string describe_node(const RegistryNode& node) noexcept {
  ++tls_describing;
  const bool outer = tls_describing == 1;
  if (outer) tls_describe_misbehaved = false;
  std::string text;
  bool failed = false;
  try {
    text = node.describe != nullptr ? node.describe(node.owner) : fallback_description(node);
  } catch (...) {
    failed = true;
  }
  --tls_describing;
  const bool misbehaved = outer && tls_describe_misbehaved;
  if (failed || misbehaved) {
    if (misbehaved) {
      static std::atomic<bool> said{false};
      if (!said.exchange(true)) {
        log_error("the describe callback of a " +
                  std::string(node.kind != nullptr ? node.kind->name : "resource") +
                  " opened or closed a tracked resource; describe callbacks must only read "
                  "their owner (reported as <kind at address> instead)");
      }
    }
    try {
      return fallback_description(node);
    } catch (...) {
      return {};
    }
  }
  return text;
}

std::vector<std::uint64_t> shard_serials() noexcept {
  Registry& reg = registry();
  std::vector<std::uint64_t> serials;
  try {
    const std::uint32_t count = reg.count.load(std::memory_order_acquire);
    serials.resize(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      serials[i] =
          reg.shards[i].load(std::memory_order_acquire)->serial.load(std::memory_order_acquire);
    }
  } catch (...) {
  }
  return serials;
}

void for_each_live(const std::vector<std::uint64_t>* since,
                   const std::function<void(std::vector<ResourceInfo>&)>& visit) noexcept {
  try {
    Registry& reg = registry();
    const std::int64_t now_ns = coarse_now_ns();
    const std::uint32_t count = reg.count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < count; ++i) {
      Shard& shard = *reg.shards[i].load(std::memory_order_acquire);
      std::uint64_t threshold = 0;
      if (since != nullptr) {
        if (i < since->size()) threshold = (*since)[i];
        if (scan_journal(shard, threshold, now_ns, visit)) continue;
      }
      scan_shard(shard, threshold, now_ns, visit);
    }
  } catch (...) {
    // Out of memory: what was visited stands.
  }
}

void lock_registry_for_fork() noexcept {
  Registry& reg = registry();
  reg.pool_mutex.lock();
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count; ++i)
    reg.shards[i].load(std::memory_order_relaxed)->lock.lock();
}

void unlock_registry_after_fork() noexcept {
  Registry& reg = registry();
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  for (std::uint32_t i = count; i > 0; --i) {
    reg.shards[i - 1].load(std::memory_order_relaxed)->lock.unlock();
  }
  reg.pool_mutex.unlock();
}

}  // namespace internal

// ---- Live set ------------------------------------------------------------------------

namespace {

std::vector<ResourceInfo> collect(const std::vector<std::uint64_t>* since) noexcept {
  std::vector<ResourceInfo> result;
  internal::for_each_live(since, [&](std::vector<ResourceInfo>& batch) {
    for (ResourceInfo& info : batch) result.push_back(std::move(info));
  });
  try {
    std::sort(result.begin(), result.end(), [](const ResourceInfo& a, const ResourceInfo& b) {
      if (a.age != b.age) return a.age > b.age;
      return a.serial < b.serial;
    });
  } catch (...) {
  }
  return result;
}

}  // namespace

std::vector<ResourceInfo> live_resources() noexcept { return collect(nullptr); }

std::size_t live_count() noexcept {
  internal::Registry& reg = internal::registry();
  std::size_t total = 0;
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count; ++i) {
    total += reg.shards[i].load(std::memory_order_acquire)->live.load(std::memory_order_relaxed);
  }
  return total;
}

Snapshot Snapshot::take() noexcept {
  Snapshot snapshot;
  try {
    snapshot.shard_serials_ =
        std::make_shared<const std::vector<std::uint64_t>>(internal::shard_serials());
  } catch (...) {
  }
  return snapshot;
}

std::vector<ResourceInfo> Snapshot::opened_since() const noexcept {
  static const std::vector<std::uint64_t> kNothing;
  return collect(shard_serials_ != nullptr ? shard_serials_.get() : &kNothing);
}

bool Snapshot::precedes(std::uint64_t serial) const noexcept {
  const auto shard = static_cast<std::size_t>(serial >> internal::kShardShift);
  const std::uint64_t local = serial & internal::kLocalMask;
  if (shard_serials_ == nullptr || shard >= shard_serials_->size()) return true;
  return local > (*shard_serials_)[shard];
}

RESTRACK_NAMESPACE_END
