#include "capture.h"

#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

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
  return intern_trace(frames, count);
}

__attribute__((noinline)) TraceId capture_site(int skip) noexcept {
  std::uintptr_t frames[kMaxCaptureFrames];
  const int count = capture_dwarf(frames, kMaxCaptureFrames, skip + 1);
  return intern_trace(frames, count);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
