// restrack/internal/registry_node.h — implementation detail of ResourceGuard.
//
// Not part of the API: the layout may change in any release. A guard is itself the node
// of an intrusive list in the registry, so opening a resource allocates nothing.
#pragma once

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
  idle,      // never opened, or moved from
  open,      // registered in the live set
  closed,    // closed explicitly or by the owner's destructor
  disabled,  // opened while tracking was switched off at run time (enabled=0)
};

// Innermost frames of the close() call, kept in the node: only a misuse report reads
// them, so they are interned then instead of on every close.
inline constexpr int kCloseFrames = 6;

struct RegistryNode {
  RegistryNode* prev = nullptr;
  RegistryNode* next = nullptr;
  const Kind* kind = nullptr;
  const void* owner = nullptr;
  DescribeFn describe = nullptr;
  std::uint64_t serial = 0;
  std::int64_t opened_at_ns = 0;
  std::uint32_t thread_id = 0;
  TraceId trace = kNoTrace;
  std::uintptr_t close_frames[kCloseFrames] = {};
  std::uint8_t close_frame_count = 0;
  std::uint8_t shard = 0;
  GuardState state = GuardState::idle;
};

void open_node(RegistryNode& node, const Kind& kind, const void* owner, DescribeFn describe,
               int library_frames) noexcept;
bool close_node(RegistryNode& node) noexcept;
void report_use_after_close(const RegistryNode& node) noexcept;
// Unregisters an open node and reports it as `type` (unclosed or destroyed_pending);
// `description` was taken while the resource was still intact.
void report_unclosed(RegistryNode& node, std::string description,
                     DiagnosticType type = DiagnosticType::unclosed) noexcept;
std::string describe_node(const RegistryNode& node) noexcept;
void move_node(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
