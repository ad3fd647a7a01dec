#include "recycler.h"

#include <array>

#include "thread_slot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::size_t kClasses = kLargestBlock / kClassSize;

// kept_blocks() of each class.
constexpr std::array<int, kClasses> kKept = [] {
  std::array<int, kClasses> kept{};
  for (std::size_t i = 0; i < kClasses; ++i) kept[i] = kept_blocks((i + 1) * kClassSize);
  return kept;
}();

// A freed block holds the link to the next one of its class.
struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so that a block freed on this thread after its release (by a
// thread_local or static destructor that runs later) finds `released` set rather than a
// destroyed object. On Windows the cache itself is freed after its release (thread_slot.h),
// and a block freed after that finds no cache.
struct Cache {
  std::array<FreeBlock*, kClasses> heads{};
  std::array<int, kClasses> counts{};
  bool released = false;
};
constexpr ThreadObject<Cache, struct ThisThreadsCache> tls_cache;

struct CacheRelease {
  CacheRelease() = default;
  CacheRelease(const CacheRelease&) = delete;
  CacheRelease& operator=(const CacheRelease&) = delete;
  ~CacheRelease() {
    Cache* found = tls_cache.find();
    if (found == nullptr) return;
    Cache& cache = *found;
    cache.released = true;
    for (std::size_t i = 0; i < kClasses; ++i) {
      while (FreeBlock* block = cache.heads[i]) {
        cache.heads[i] = block->next;
        ::operator delete(block);
      }
      cache.counts[i] = 0;
    }
  }
};
thread_local CacheRelease tls_cache_release;

std::size_t class_of(std::size_t size) noexcept { return (size + kClassSize - 1) / kClassSize - 1; }

}  // namespace

void* recycled_allocate(std::size_t size) {
  if (!kRecycling || size == 0 || size > kLargestBlock) return ::operator new(size);
  const std::size_t index = class_of(size);
  Cache* cache = tls_cache.find();
  if (cache == nullptr) return ::operator new((index + 1) * kClassSize);
  if (FreeBlock* block = cache->heads[index]) {
    cache->heads[index] = block->next;
    --cache->counts[index];
    return block;
  }
  if (!cache->released) static_cast<void>(&tls_cache_release);  // released at thread end
  return ::operator new((index + 1) * kClassSize);
}

void recycled_deallocate(void* block, std::size_t size) noexcept {
  if (block == nullptr) return;
  if (!kRecycling || size == 0 || size > kLargestBlock) {
    ::operator delete(block);
    return;
  }
  const std::size_t index = class_of(size);
  Cache* cache = tls_cache.find();
  if (cache == nullptr || cache->released || cache->counts[index] >= kKept[index]) {
    ::operator delete(block);
    return;
  }
  auto* freed = static_cast<FreeBlock*>(block);
  freed->next = cache->heads[index];
  cache->heads[index] = freed;
  ++cache->counts[index];
}

}  // namespace internal
RESTRACK_NAMESPACE_END
