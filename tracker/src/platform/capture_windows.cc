// Windows implementation of capture_frame_pointers() (capture=frame_pointer): the return
// addresses from RtlCaptureStackBackTrace, which unwinds with the program's unwind tables.
// A frame-pointer walk cannot work here: on x86-64 Windows GCC sets the frame pointer at
// an offset inside the frame (Win64 unwind information allows it), so the saved frame
// pointer is not where the pointer points.
#include <windows.h>

#include "capture.h"

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

}  // namespace internal
RESTRACK_NAMESPACE_END
