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
  TraceRecord* next;  // bucket chain; written before the record is published
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

class StackDepot {
 public:
  TraceId intern(const std::uintptr_t* frames, int count) noexcept {
    if (count <= 0) return kNoTrace;
    const std::uint64_t hash = hash_frames(frames, count);
    std::atomic<TraceRecord*>& bucket = buckets_[hash & (kBuckets - 1)];
    if (TraceRecord* found = find(bucket.load(std::memory_order_acquire), hash, frames, count)) {
      return found->id;
    }
    std::lock_guard<SpinLock> lock(locks_[hash % kLocks]);
    TraceRecord* head = bucket.load(std::memory_order_acquire);
    if (TraceRecord* found = find(head, hash, frames, count)) return found->id;
    const TraceId id = next_id_.fetch_add(1, std::memory_order_relaxed);
    if (id >= kMaxTraces) return kNoTrace;
    const std::size_t bytes =
        sizeof(TraceRecord) + (static_cast<std::size_t>(count) - 1) * sizeof(std::uintptr_t);
    auto* record = static_cast<TraceRecord*>(allocate(bytes));
    if (record == nullptr) return kNoTrace;
    record->next = head;
    record->hash = hash;
    record->count = static_cast<std::uint32_t>(count);
    record->id = id;
    std::memcpy(record->frames, frames, static_cast<std::size_t>(count) * sizeof(std::uintptr_t));
    if (!publish_id(id, record)) return kNoTrace;
    bucket.store(record, std::memory_order_release);
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

  std::uint32_t size() const noexcept {
    const TraceId next = next_id_.load(std::memory_order_relaxed);
    return (next < kMaxTraces ? next : kMaxTraces) - 1;
  }

 private:
  static constexpr std::size_t kBuckets = 1 << 16;
  static constexpr std::size_t kLocks = 64;
  static constexpr std::size_t kChunkSize = 4096;
  static constexpr std::size_t kMaxChunks = 1024;
  static constexpr TraceId kMaxTraces = kChunkSize * kMaxChunks;
  static constexpr std::size_t kArenaBlock = 1 << 20;

  static TraceRecord* find(TraceRecord* record, std::uint64_t hash, const std::uintptr_t* frames,
                           int count) noexcept {
    for (; record != nullptr; record = record->next) {
      if (record->hash == hash && record->count == static_cast<std::uint32_t>(count) &&
          std::memcmp(record->frames, frames,
                      static_cast<std::size_t>(count) * sizeof(std::uintptr_t)) == 0) {
        return record;
      }
    }
    return nullptr;
  }

  // Bump allocation from blocks that are never returned: traces live forever.
  void* allocate(std::size_t bytes) noexcept {
    std::lock_guard<SpinLock> lock(arena_lock_);
    bytes = (bytes + 15) & ~std::size_t{15};
    if (arena_left_ < bytes) {
      const std::size_t block = bytes > kArenaBlock ? bytes : kArenaBlock;
      arena_next_ = static_cast<unsigned char*>(std::malloc(block));
      if (arena_next_ == nullptr) {
        arena_left_ = 0;
        return nullptr;
      }
      arena_left_ = block;
    }
    void* result = arena_next_;
    arena_next_ += bytes;
    arena_left_ -= bytes;
    return result;
  }

  bool publish_id(TraceId id, TraceRecord* record) noexcept {
    std::atomic<std::atomic<TraceRecord*>*>& slot = chunks_[id / kChunkSize];
    std::atomic<TraceRecord*>* chunk = slot.load(std::memory_order_acquire);
    if (chunk == nullptr) {
      std::lock_guard<SpinLock> lock(chunk_lock_);
      chunk = slot.load(std::memory_order_acquire);
      if (chunk == nullptr) {
        chunk = static_cast<std::atomic<TraceRecord*>*>(
            std::calloc(kChunkSize, sizeof(std::atomic<TraceRecord*>)));
        if (chunk == nullptr) return false;
        slot.store(chunk, std::memory_order_release);
      }
    }
    chunk[id % kChunkSize].store(record, std::memory_order_release);
    return true;
  }

  std::atomic<TraceRecord*> buckets_[kBuckets] = {};
  SpinLock locks_[kLocks];
  std::atomic<TraceId> next_id_{1};
  std::atomic<std::atomic<TraceRecord*>*> chunks_[kMaxChunks] = {};
  SpinLock chunk_lock_;
  SpinLock arena_lock_;
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

std::uint32_t depot_size() noexcept { return depot().size(); }

}  // namespace internal
RESTRACK_NAMESPACE_END
