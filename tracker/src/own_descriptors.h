// Internal: marks the tracker's own work that opens and closes descriptors — the
// symbolizer (libdw opens the program and its libraries), report files, the suppressions
// file — so that restrack-run's interposed calls (tools/run) pass it through untracked
// instead of tracking the tracker or recursing into it. Costs a thread-local increment.
#pragma once

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

inline thread_local int tls_own_descriptor_work = 0;

// Held while the tracker opens or closes descriptors of its own.
class OwnDescriptorScope {
 public:
  OwnDescriptorScope() noexcept { ++tls_own_descriptor_work; }
  ~OwnDescriptorScope() { --tls_own_descriptor_work; }
  OwnDescriptorScope(const OwnDescriptorScope&) = delete;
  OwnDescriptorScope& operator=(const OwnDescriptorScope&) = delete;
};

// True while this thread is inside an OwnDescriptorScope.
inline bool in_own_descriptor_work() noexcept { return tls_own_descriptor_work > 0; }

}  // namespace internal
RESTRACK_NAMESPACE_END
