// Internal: the tracker's side of restrack-run (tools/run, docs/restrack-run.md).
//
// restrack-run's preloaded library interposes the C library's descriptor calls and keeps
// each descriptor as a tracked resource. It carries a tracker of its own, but a program
// that links restrack itself must still have one tracker only — the program's — so that
// its GoogleTest listener sees the raw descriptors, its exit report lists them, and its
// TrackedFds are known to the interposed close(). So every tracker, when it starts
// (exit.cc), looks for restrack-run's entry point `restrack_run_attach` in the process
// and, if it is there, hands it this table; restrack-run then tracks through the
// program's tracker from that moment on (platform/interposer_linux.cc).
//
// The table is a versioned set of function pointers over the tracker's layers, nothing
// more: restrack-run compiles the same tracker sources, so the records it keeps
// (RegistryNode) and the Diagnostic it builds have the same layout, which `abi_version`
// and `size` confirm.
#pragma once

#include <cstdint>

#include "fd_owners.h"
#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/internal/registry_node.h"
#include "restrack/kind.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct InterposerApi {
  std::uint32_t size;         // sizeof(InterposerApi)
  std::uint32_t abi_version;  // RESTRACK_ABI_VERSION; the mode is tracking_on

  // An allocation trace by the configured method: at most `depth` user frames (negative:
  // trace_depth), after skipping `skip` frames of the caller's own. kNoTrace when
  // tracking is off or the depth is 0.
  TraceId (*capture)(int skip, int depth) noexcept;
  // Where a problem happens (capture_site): DWARF, deep, after `skip` frames of the caller.
  TraceId (*capture_site)(int skip) noexcept;
  // The depot: intern frames, read them back (count written to *count).
  TraceId (*intern)(const std::uintptr_t* frames, int count) noexcept;
  const std::uintptr_t* (*frames)(TraceId id, std::size_t* count) noexcept;

  // Registers `node` as an open resource with an allocation trace captured before.
  void (*open)(RegistryNode& node, const Kind& kind, const void* owner, DescribeFn describe,
               TraceId trace) noexcept;
  // Unregisters an open node as closed, recording `close_trace`; nothing is reported.
  void (*close)(RegistryNode& node, TraceId close_trace) noexcept;
  // Unregisters without closing (the descriptor went to another process, or was
  // inherited): the node becomes idle.
  void (*forget)(RegistryNode& node) noexcept;

  // The restrack owner (TrackedFd) holding `fd`, from fd_owners.h.
  bool (*owner_of)(int fd, FdOwner* owner) noexcept;
  // Sends a diagnostic through action, suppressions and handlers.
  void (*report)(const Diagnostic& diagnostic) noexcept;

  // True while this thread runs tracker work that opens descriptors of its own
  // (own_descriptors.h): such calls are passed through untracked.
  bool (*in_own_work)() noexcept;
  // Whether tracking is enabled at run time (enabled=1).
  bool (*enabled)() noexcept;
  // Switches this tracker off for good (enabled=0): restrack-run's own tracker once the
  // program's has taken over, so that it writes no second exit report.
  void (*disable)() noexcept;
};

// This tracker's table.
const InterposerApi& interposer_api() noexcept;

// Hands interposer_api() to restrack-run if its library is loaded in the process (called
// once at start-up); from then on the fd_owners.h index is kept.
void announce_to_interposer() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END

// restrack-run's entry point, defined by its preloaded library (tools/run): returns true
// if it takes `api`'s tracker as the one to track through.
using RestrackRunAttachFn = bool (*)(const void* api);
