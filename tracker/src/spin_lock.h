// A small test-and-test-and-set lock for the registry shards and the stack depot. Their
// critical sections are a handful of pointer writes, where a futex-based mutex costs more
// than the work it protects. It is constant-initialized and trivially destructible, so it
// keeps working during static destruction.
#pragma once

#include "restrack/config.h"

#include <atomic>

RESTRACK_NAMESPACE_BEGIN
namespace internal {

void yield_thread() noexcept;  // platform/thread_*.cc

class SpinLock {
 public:
  constexpr SpinLock() noexcept = default;

  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) {
          yield_thread();
          spins = 0;
        }
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace internal
RESTRACK_NAMESPACE_END
