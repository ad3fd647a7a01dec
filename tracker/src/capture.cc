#include "capture.h"

#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The last trace this thread captured: a site that opens in a loop (a proactor task's
// requests among them) skips the depot's hash and probe. 32 frames cover the default
// depth with a task's dispatch frames.
thread_local RecentTrace<32> tls_last_capture;

}  // namespace

__attribute__((noinline)) TraceId capture_with_depth(int depth, CaptureMethod method,
                                                     int skip) noexcept {
  if (depth <= 0) return kNoTrace;
  std::uintptr_t frames[kMaxCaptureFrames];
  const int wanted = depth > kMaxCaptureFrames - kLibraryFrameAllowance
                         ? kMaxCaptureFrames
                         : depth + kLibraryFrameAllowance;
  // +1: this function's own frame.
  const int count = method == CaptureMethod::dwarf
                        ? capture_dwarf(frames, wanted, skip + 1)
                        : capture_frame_pointers(frames, wanted, skip + 1);
  if (count < 0) return kTraceWalkStopped;
  return tls_last_capture.intern(frames, count);
}

__attribute__((noinline)) TraceId capture_site(int skip) noexcept {
  std::uintptr_t frames[kMaxCaptureFrames];
  const int count = capture_dwarf(frames, kMaxCaptureFrames, skip + 1);
  return intern_trace(frames, count);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
