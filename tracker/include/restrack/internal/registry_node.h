// restrack/internal/registry_node.h — implementation detail of ResourceGuard.
//
// Not part of the API: the layout may change in any release (RESTRACK_ABI_VERSION
// changes with it). A guard is the registry's record of its resource: opening fills it
// and puts a pointer to it into a slot of the opening thread's registry shard, so opening
// a resource allocates nothing of its own. At most 64 bytes, since every tracked object
// carries one.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/kind.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

using DescribeFn = std::string (*)(const void* owner);

enum class GuardState : std::uint8_t {
  idle,      // never opened, moved from, or forgotten (release())
  open,      // registered in the live set
  closed,    // closed explicitly or by the owner's destructor
  disabled,  // opened while tracking was switched off at run time (enabled=0)
};

// The fields a close reads and writes come first: they share a cache line with the
// owner's members just before the guard as often as the layout allows (a close in a
// large live set costs one miss per line it touches).
struct RegistryNode {
  // Written under the shard lock (or by its owner, see registry.cc); read without it by
  // the owner's own checks.
  std::atomic<GuardState> state{GuardState::idle};
  std::uint16_t shard = 0;         // registry shard while open
  std::uint32_t slot = 0;          // index in the shard while open
  TraceId trace = kNoTrace;        // allocation trace
  TraceId close_trace = kNoTrace;  // interned at close; read only by misuse reports
  const Kind* kind = nullptr;
  const void* owner = nullptr;
  DescribeFn describe = nullptr;
  std::uint32_t thread_id = 0;  // OS id of the opening thread
  std::uint32_t opened_at = 0;  // coarse clock, in units of 2^20 ns (about 1 ms)
};

// Every guard pays for this record: keep it small (docs/PERFORMANCE.md).
static_assert(sizeof(RegistryNode) <= 64, "a guard must stay within one cache line");

void open_node(RegistryNode& node, const Kind& kind, const void* owner, DescribeFn describe,
               int library_frames) noexcept;
// Closes `node` (registry.cc); false when it was closed before, which the caller reports
// with report_closed_twice() (guard.cc).
bool close_node(RegistryNode& node) noexcept;
void report_closed_twice(const RegistryNode& node) noexcept;
void forget_node(RegistryNode& node) noexcept;
void report_use_after_close(const RegistryNode& node) noexcept;
// Reports an open node as `type` (unclosed or destroyed_pending): takes its description,
// unregisters it, calls `release(context)` to free the OS resource, then dispatches.
void release_and_report(RegistryNode& node, void (*release)(void*) noexcept, void* context,
                        DiagnosticType type) noexcept;
void move_node(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
