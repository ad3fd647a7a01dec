// Internal: stack capture — return addresses of the calling thread, innermost first.
// One file per method (capture_frame_pointer.cc, capture_dwarf.cc), and the depth policy
// on top of both (capture.cc).
#pragma once

#include "restrack/config.h"

#include <cstdint>

#include "restrack/options.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Fill `out` with up to `max_frames` return addresses, skipping `skip` frames above the
// caller. Return the count, or -1 when the frame-pointer walk could not start because the
// thread runs on a stack it does not know (a fiber).
int capture_frame_pointers(std::uintptr_t* out, int max_frames, int skip) noexcept;
// The DWARF unwinder stores for a frame interrupted by a signal the address after the
// interrupted instruction, so that "return address - 1", as for every other frame, names
// that instruction.
int capture_dwarf(std::uintptr_t* out, int max_frames, int skip) noexcept;

// Frames captured beyond trace_depth, so that the owner's own frames (a TrackedFd or
// transport constructor, dropped when the trace is symbolized) do not eat into the depth
// the user asked for. Unoptimized builds keep more helpers as frames of their own.
#if defined(__OPTIMIZE__)
inline constexpr int kLibraryFrameAllowance = 2;
#else
inline constexpr int kLibraryFrameAllowance = 6;
#endif

// The deepest capture restrack makes: trace_depth (at most kMaxTraceDepth) plus the
// allowance plus an owner's library frames.
inline constexpr int kMaxCaptureFrames = 256;

// Captures `depth` user frames plus the allowance with `method`, after skipping `skip`
// frames of the caller's own, and interns them. `depth` is clamped to kMaxCaptureFrames.
// Returns kNoTrace for depth 0, kTraceWalkStopped when the walk could not start.
TraceId capture_with_depth(int depth, CaptureMethod method, int skip = 0) noexcept;

// Captures where a problem is being reported, always with the DWARF unwinder (it sees
// through code without frame pointers) and deep enough to reach the user's code however
// many library frames stand in between (kMaxCaptureFrames). `skip` frames of the
// caller's own are left out.
TraceId capture_site(int skip) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
