// The stack depot: an open-addressing hash table of pointers to immutable trace records.
//
// Lookups take no lock at any size: they read the current table and probe it linearly.
// Inserts take one lock; when the table is half full they build a table twice the size
// and publish it. Old tables are kept (readers may still be probing them), like every
// record: the depot never frees anything, so a TraceId and the frames it names stay valid
// for the life of the process. Record ids index a two-level array of chunks.
#include "stack_depot.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "no_destructor.h"
#include "spin_lock.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

struct TraceRecord {
  std::uint64_t hash;
  std::uint32_t count;
  TraceId id;
  std::uintptr_t frames[1];  // `count` frames follow
};

// Two independent multiply chains over alternate frames, so the CPU overlaps them: the
// hash is on the path of every traced open.
std::uint64_t hash_frames(const std::uintptr_t* frames, int count) noexcept {
  std::uint64_t even = 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(count);
  std::uint64_t odd = 0xc2b2ae3d27d4eb4fULL;
  int i = 0;
  for (; i + 1 < count; i += 2) {
    even = (even ^ frames[i]) * 0xff51afd7ed558ccdULL;
    odd = (odd ^ frames[i + 1]) * 0xc4ceb9fe1a85ec53ULL;
  }
  if (i < count) even = (even ^ frames[i]) * 0xff51afd7ed558ccdULL;
  const std::uint64_t h = even ^ (odd >> 29) ^ (odd << 35);
  return h ^ (h >> 32);
}

bool same(const TraceRecord* record, std::uint64_t hash, const std::uintptr_t* frames,
          int count) noexcept {
  return record->hash == hash && record->count == static_cast<std::uint32_t>(count) &&
         std::memcmp(record->frames, frames,
                     static_cast<std::size_t>(count) * sizeof(std::uintptr_t)) == 0;
}

struct Table {
  std::size_t mask;  // capacity - 1 (a power of two)
  std::atomic<TraceRecord*> slots[1];
};

class StackDepot {
 public:
  StackDepot() noexcept { table_.store(new_table(kInitialCapacity), std::memory_order_release); }

  TraceId intern(const std::uintptr_t* frames, int count) noexcept {
    if (count <= 0) return kNoTrace;
    const std::uint64_t hash = hash_frames(frames, count);
    if (TraceRecord* found = find(*table_.load(std::memory_order_acquire), hash, frames, count)) {
      return found->id;
    }
    std::lock_guard<SpinLock> lock(insert_lock_);
    Table* table = table_.load(std::memory_order_relaxed);
    if (table == nullptr) return kNoTrace;
    if (TraceRecord* found = find(*table, hash, frames, count)) return found->id;
    const TraceId id = next_id_;
    if (id >= kMaxTraces) return kNoTrace;
    const std::size_t record_bytes =
        sizeof(TraceRecord) + (static_cast<std::size_t>(count) - 1) * sizeof(std::uintptr_t);
    auto* record = static_cast<TraceRecord*>(allocate(record_bytes));
    if (record == nullptr || !publish_id(id, record)) return kNoTrace;
    record->hash = hash;
    record->count = static_cast<std::uint32_t>(count);
    record->id = id;
    std::memcpy(record->frames, frames, static_cast<std::size_t>(count) * sizeof(std::uintptr_t));
    // By id first: whoever finds the record in the table may ask for its frames at once.
    chunk(id)[id % kChunkSize].store(record, std::memory_order_release);
    if (2 * (size_ + 1) > table->mask + 1) {
      Table* bigger = grow(*table);
      if (bigger != nullptr) table = bigger;
    }
    place(*table, record);
    ++next_id_;
    ++size_;
    return id;
  }

  std::span<const std::uintptr_t> frames(TraceId id) const noexcept {
    if (id == kNoTrace || id >= kMaxTraces) return {};
    const auto* chunk = chunks_[id / kChunkSize].load(std::memory_order_acquire);
    if (chunk == nullptr) return {};
    const TraceRecord* record = chunk[id % kChunkSize].load(std::memory_order_acquire);
    if (record == nullptr) return {};
    return {record->frames, record->count};
  }

  DepotStats stats() noexcept {
    std::lock_guard<SpinLock> lock(insert_lock_);
    return DepotStats{size_, bytes_};
  }

  // The arena and the tables, as they were before fork(): the child's lock is free.
  void lock() noexcept { insert_lock_.lock(); }
  void unlock() noexcept { insert_lock_.unlock(); }

 private:
  static constexpr std::size_t kInitialCapacity = 1 << 12;
  static constexpr std::size_t kChunkSize = 4096;
  static constexpr std::size_t kMaxChunks = 4096;
  static constexpr TraceId kMaxTraces = kChunkSize * kMaxChunks - 1;  // below kTraceWalkStopped
  static constexpr std::size_t kArenaBlock = 1 << 20;

  static TraceRecord* find(const Table& table, std::uint64_t hash, const std::uintptr_t* frames,
                           int count) noexcept {
    for (std::size_t i = hash & table.mask;; i = (i + 1) & table.mask) {
      TraceRecord* record = table.slots[i].load(std::memory_order_acquire);
      if (record == nullptr) return nullptr;
      if (same(record, hash, frames, count)) return record;
    }
  }

  static void place(Table& table, TraceRecord* record) noexcept {
    std::size_t i = record->hash & table.mask;
    while (table.slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & table.mask;
    table.slots[i].store(record, std::memory_order_release);
  }

  Table* new_table(std::size_t capacity) noexcept {
    const std::size_t table_bytes =
        sizeof(Table) + (capacity - 1) * sizeof(std::atomic<TraceRecord*>);
    // calloc: zero pages are free until touched, so a large table costs what it holds.
    auto* table = static_cast<Table*>(std::calloc(1, table_bytes));
    if (table == nullptr) return nullptr;
    table->mask = capacity - 1;
    bytes_ += table_bytes;
    return table;
  }

  // Rehashes into a table twice the size and publishes it. Readers still probing the old
  // table find every record there too; the old table is never freed.
  Table* grow(const Table& old) noexcept {
    Table* bigger = new_table(2 * (old.mask + 1));
    if (bigger == nullptr) return nullptr;
    for (std::size_t i = 0; i <= old.mask; ++i) {
      if (TraceRecord* record = old.slots[i].load(std::memory_order_relaxed))
        place(*bigger, record);
    }
    table_.store(bigger, std::memory_order_release);
    return bigger;
  }

  // Bump allocation from blocks that are never returned: traces live forever.
  void* allocate(std::size_t record_bytes) noexcept {
    record_bytes = (record_bytes + 15) & ~std::size_t{15};
    if (arena_left_ < record_bytes) {
      const std::size_t block = record_bytes > kArenaBlock ? record_bytes : kArenaBlock;
      arena_next_ = static_cast<unsigned char*>(std::malloc(block));
      if (arena_next_ == nullptr) {
        arena_left_ = 0;
        return nullptr;
      }
      arena_left_ = block;
      bytes_ += block;
    }
    void* result = arena_next_;
    arena_next_ += record_bytes;
    arena_left_ -= record_bytes;
    return result;
  }

  std::atomic<TraceRecord*>* chunk(TraceId id) noexcept {
    return chunks_[id / kChunkSize].load(std::memory_order_relaxed);
  }

  bool publish_id(TraceId id, TraceRecord*) noexcept {
    std::atomic<std::atomic<TraceRecord*>*>& slot = chunks_[id / kChunkSize];
    if (slot.load(std::memory_order_relaxed) != nullptr) return true;
    auto* fresh = static_cast<std::atomic<TraceRecord*>*>(
        std::calloc(kChunkSize, sizeof(std::atomic<TraceRecord*>)));
    if (fresh == nullptr) return false;
    bytes_ += kChunkSize * sizeof(std::atomic<TraceRecord*>);
    slot.store(fresh, std::memory_order_release);
    return true;
  }

  std::atomic<Table*> table_{nullptr};
  SpinLock insert_lock_;  // inserts, growth, the arena and the statistics
  TraceId next_id_ = 1;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
  std::atomic<std::atomic<TraceRecord*>*> chunks_[kMaxChunks] = {};
  unsigned char* arena_next_ = nullptr;
  std::size_t arena_left_ = 0;
};

StackDepot& depot() noexcept {
  static NoDestructor<StackDepot> instance;
  return *instance;
}

}  // namespace

TraceId intern_trace(const std::uintptr_t* frames, int count) noexcept {
  return depot().intern(frames, count);
}

std::span<const std::uintptr_t> depot_frames(TraceId id) noexcept { return depot().frames(id); }

void lock_depot_for_fork() noexcept { depot().lock(); }
void unlock_depot_after_fork() noexcept { depot().unlock(); }

}  // namespace internal

DepotStats depot_stats() noexcept { return internal::depot().stats(); }

RESTRACK_NAMESPACE_END
