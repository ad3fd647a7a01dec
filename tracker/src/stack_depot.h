// Internal: StackDepot, the process-wide store of interned traces. Identical traces are
// stored once and named by a small TraceId; lookups of a known trace take no lock, at any
// size (the table grows). The depot is never destroyed and never frees a trace, so a
// TraceId and the span it resolves to stay valid for the life of the process, during
// static destruction too.
#pragma once

#include "restrack/config.h"

#include <cstdint>
#include <span>

#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Interns `frames`; returns kNoTrace for an empty trace or when memory runs out.
TraceId intern_trace(const std::uintptr_t* frames, int count) noexcept;

// One thread's most recent trace of at most N frames and its id: a site that opens or
// closes in a loop finds its trace again by comparing words, without hashing or probing
// the depot. Kept per thread (thread_slot.h) by capture=dwarf's opens; frame-pointer
// captures replay their whole walk instead (RecentWalk, capture.h).
template <int N>
class RecentTrace {
 public:
  TraceId intern(const std::uintptr_t* frames, int count) noexcept {
    if (count == count_) {
      bool same = true;
      for (int i = 0; i < count; ++i) same &= frames[i] == frames_[i];
      if (same) return id_;
    }
    const TraceId id = intern_trace(frames, count);
    if (count <= N) {
      for (int i = 0; i < count; ++i) frames_[i] = frames[i];
      count_ = count;
      id_ = id;
    }
    return id;
  }

 private:
  std::uintptr_t frames_[N] = {};
  int count_ = -1;
  TraceId id_ = kNoTrace;
};

// The frames of an interned trace; empty for kNoTrace or an unknown id.
std::span<const std::uintptr_t> depot_frames(TraceId id) noexcept;

// Held across fork() (registry.cc installs the handlers), so the child never inherits a
// lock some other thread of the parent held.
void lock_depot_for_fork() noexcept;
void unlock_depot_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
