// Internal: the loop's small allocations — operations, their small buffers, their futures —
// recycled through a per-thread cache instead of going back to malloc.
//
// A request allocates its operation and its future, a receive or a send its buffer, and a
// ping-pong does four requests per round trip: with dozens of connections, more blocks of
// one size are freed at once than malloc's own per-thread cache keeps, and the rest take
// its slow paths. Each thread keeps up to kBlocksPerClass freed blocks per 64-byte size
// class up to kLargestBlock bytes. Any thread may free a block another allocated: blocks
// are plain ::operator new memory of their class's size. A thread's blocks are released
// when it ends. Sanitizer builds do not recycle, so that a use after free stays visible.
#pragma once

#include <cstddef>
#include <new>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// False in sanitizer builds: every block then goes straight to ::operator new and delete.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kRecycling = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kRecycling = false;
#else
inline constexpr bool kRecycling = true;
#endif
#else
inline constexpr bool kRecycling = true;
#endif

inline constexpr std::size_t kLargestBlock = 1024;
inline constexpr int kBlocksPerClass = 64;

// `size` bytes, aligned for any object (alignof(std::max_align_t)); throws std::bad_alloc.
void* recycled_allocate(std::size_t size);
// Gives back a block of recycled_allocate(size), with the same size.
void recycled_deallocate(void* block, std::size_t size) noexcept;

// For std::allocate_shared: the futures of the loop's requests.
template <class T>
struct RecycledAllocator {
  using value_type = T;
  RecycledAllocator() noexcept = default;
  template <class U>
  explicit RecycledAllocator(const RecycledAllocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t count) {
    static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned types are not recycled");
    return static_cast<T*>(recycled_allocate(count * sizeof(T)));
  }
  void deallocate(T* block, std::size_t count) noexcept {
    recycled_deallocate(block, count * sizeof(T));
  }
  template <class U>
  bool operator==(const RecycledAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace internal
RESTRACK_NAMESPACE_END
