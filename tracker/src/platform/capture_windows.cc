// Windows implementation of capture_frame_pointers() and RecentWalk::capture()
// (capture=frame_pointer): the return addresses from RtlCaptureStackBackTrace, which
// unwinds with the program's unwind tables.
// A frame-pointer walk cannot work here: on x86-64 Windows GCC sets the frame pointer at
// an offset inside the frame (Win64 unwind information allows it), so the saved frame
// pointer is not where the pointer points. With no chain to check, RecentWalk compares the
// trace with the one it remembers and never replays.
#include <windows.h>

#include <algorithm>

#include "capture.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

__attribute__((noinline)) int capture_frame_pointers(std::uintptr_t* out, int max_frames,
                                                     int skip) noexcept {
  if (max_frames <= 0) return 0;
  // Captures at most 65535 frames at a time; restrack asks for at most kMaxCaptureFrames.
  void** frames = reinterpret_cast<void**>(out);
  // +1: this function's own frame.
  return RtlCaptureStackBackTrace(static_cast<DWORD>(skip) + 1, static_cast<DWORD>(max_frames),
                                  frames, nullptr);
}

__attribute__((noinline)) TraceId RecentWalk::capture(int max_frames, int skip) noexcept {
  std::uintptr_t trace[kMaxCaptureFrames];
  // +1: this function's own frame.
  const int count =
      capture_frame_pointers(trace, std::min(max_frames, kMaxCaptureFrames), skip + 1);
  TraceId id = kNoTrace;
  if (count > kCapacity) {
    id = intern_trace(trace, count);
  } else if (count == count_ && std::equal(trace, trace + count, return_addresses_)) {
    id = id_;
  } else {
    id = intern_trace(trace, count);
    std::copy_n(trace, count, return_addresses_);
    count_ = count;
    id_ = id;
  }
  // Not a tail call: `skip + 1` counts this function's frame.
  asm volatile("");
  return id;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
