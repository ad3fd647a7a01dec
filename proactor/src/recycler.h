// Internal: the loop's small allocations — operations, their small buffers, their futures —
// recycled through a per-thread cache instead of going back to malloc.
//
// A request allocates its operation and its future, a receive or a send its buffer, and a
// ping-pong does four requests per round trip: with dozens of connections, more blocks of
// one size are freed at once than malloc's own per-thread cache keeps, and the rest take
// its slow paths. Each thread keeps freed blocks per 64-byte size class up to kLargestBlock
// bytes: kBytesPerClass bytes of each class, and at least kBlocksPerClass blocks (at most
// about 650 KiB a thread in all; kept_blocks()). Any thread may free a block another
// allocated: blocks are plain ::operator new memory of their class's size. A thread's
// blocks are released when it ends. Sanitizer builds do not recycle, so that a use after
// free stays visible.
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
inline constexpr std::size_t kClassSize = 64;
inline constexpr int kBlocksPerClass = 64;
// 512 blocks of the smallest class: a loop with 64 connections in a ping-pong frees 128
// operations, futures and buffers at once, two classes' worth.
inline constexpr std::size_t kBytesPerClass = std::size_t{32} * 1024;

// The freed blocks a thread keeps of the class of `size` (1 to kLargestBlock bytes).
constexpr int kept_blocks(std::size_t size) noexcept {
  const std::size_t class_bytes = (size + kClassSize - 1) / kClassSize * kClassSize;
  const std::size_t by_bytes = kBytesPerClass / class_bytes;
  return by_bytes > kBlocksPerClass ? static_cast<int>(by_bytes) : kBlocksPerClass;
}

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
