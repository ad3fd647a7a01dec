// Internal: which restrack owner (a TrackedFd) holds each descriptor, so that restrack-run
// (tools/run, docs/restrack-run.md) can tell a close(2) made behind the owner's back.
//
// The index is kept only while restrack-run is present in the process (it turns the
// index on when it attaches, see interposer.h); until then each hook costs one relaxed
// atomic load and a branch, inline in the owner's code. Entries are keyed by descriptor
// number and hold what a report needs — the owner's kind and allocation trace — so moving
// an owner changes nothing here. The owner drops its entry before it closes the
// descriptor, so that its own close is never mistaken for one behind its back.
#pragma once

#include <atomic>
#include <cstdint>

#include "restrack/config.h"
#include "restrack/kind.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

extern std::atomic<bool> g_fd_owners_kept;

void note_fd_owner_slow(int fd, const Kind& kind, TraceId allocation_trace) noexcept;
void drop_fd_owner_slow(int fd) noexcept;

// Records that an owner of `kind`, allocated at `allocation_trace`, now holds `fd`.
inline void note_fd_owner(int fd, const Kind& kind, TraceId allocation_trace) noexcept {
  if (g_fd_owners_kept.load(std::memory_order_relaxed)) {
    note_fd_owner_slow(fd, kind, allocation_trace);
  }
}

// The owner of `fd` is about to close it, or gives it away.
inline void drop_fd_owner(int fd) noexcept {
  if (g_fd_owners_kept.load(std::memory_order_relaxed)) drop_fd_owner_slow(fd);
}

// Starts keeping the index (restrack-run attached). Owners that took their descriptor
// before are not in it.
void keep_fd_owners() noexcept;

struct FdOwner {
  const Kind* kind = nullptr;
  TraceId allocation_trace = kNoTrace;
};

// The owner holding `fd`, if any.
bool fd_owner(int fd, FdOwner* owner) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
