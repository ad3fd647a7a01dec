// Replaces the array forms of operator new/delete for the whole test binary. They behave
// as the standard ones (malloc/free, std::bad_alloc), except that while filling is on a
// fresh allocation is filled with 0xA5.
#include "array_allocation_fill.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace restrack_test {
namespace {
std::atomic<bool> filling{false};
}  // namespace

void fill_next_array_allocations(bool enabled) { filling.store(enabled); }

}  // namespace restrack_test

void* operator new[](std::size_t size) {
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) throw std::bad_alloc();
  if (restrack_test::filling.load()) std::memset(memory, 0xA5, size);
  return memory;
}

void operator delete[](void* memory) noexcept { std::free(memory); }

void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
