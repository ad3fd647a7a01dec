// The tracker's process-wide state: settings in force, diagnostic dispatch, the exit
// report. Internal to restrack::tracker.
#pragma once

#include "restrack/config.h"

#include <cstdint>
#include <string>
#include <vector>

#include "logging.h"
#include "restrack/diagnostic.h"
#include "restrack/options.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// What the hot path needs, read with one atomic load. The first call reads
// RESTRACK_OPTIONS.
struct HotSettings {
  bool enabled;
  int trace_depth;
  CaptureMethod capture;
};
HotSettings hot_settings() noexcept;

// Frames captured beyond trace_depth, so that the owner's own frames (a TrackedFd or
// transport constructor, dropped when the trace is symbolized) do not eat into the depth
// the user asked for. Owners nested deeper than this lose user frames from the far end.
// Unoptimized builds keep every inline function as a frame of its own (guard, owner
// helpers, constructor), so they need more.
#if defined(__OPTIMIZE__)
inline constexpr int kLibraryFrameAllowance = 2;
#else
inline constexpr int kLibraryFrameAllowance = 6;
#endif

// Captures the caller's stack with `method`, `depth` user frames plus the allowance,
// after skipping `skip` frames of the caller's own.
TraceId capture_with_depth(int depth, CaptureMethod method, int skip = 0) noexcept;

// Captures where a problem is being reported (at least 16 frames, even when allocation
// traces are off, so the location line is always known), always with the DWARF unwinder.
TraceId capture_site() noexcept;

// Sends a diagnostic through action, suppressions and the handlers.
void dispatch(const Diagnostic& diagnostic) noexcept;

// Suppressions (options.cc).
bool is_suppressed(const Diagnostic& diagnostic) noexcept;
// Loads the rules of `path` (empty: none) in place of the current ones. Each problem is
// appended to `errors`.
void load_suppressions(const std::string& path, std::vector<std::string>* errors) noexcept;

// JSON report (report_json.cc).
void record_for_report(const Diagnostic& diagnostic) noexcept;
bool write_report_file(const std::string& path_pattern) noexcept;
void mark_report_final(const std::string& path_pattern) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
