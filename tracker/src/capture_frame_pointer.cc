// Stack capture by walking the frame-pointer chain: each frame starts with the caller's
// frame pointer followed by the return address (x86-64 and AArch64 alike). The walk is
// checked — every frame must lie inside the thread's stack, be aligned and sit above the
// previous one — so a function built without frame pointers ends the trace early instead
// of sending the walk into arbitrary memory.
#include "capture.h"
#include "platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

__attribute__((noinline, no_sanitize("address", "hwaddress"))) int capture_frame_pointers(
    std::uintptr_t* out, int max_frames, int skip) noexcept {
  const StackBounds bounds = current_stack_bounds();
  auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  // Our own frame outside the thread's stack: this code runs on a stack of its own (a
  // fiber, a ucontext), whose extent restrack cannot know. Say so rather than return an
  // empty trace that looks like tracing was off.
  if (bounds.high != 0 && (frame < bounds.low || frame >= bounds.high)) return -1;
  int count = 0;
  while (count < max_frames) {
    if (frame % sizeof(std::uintptr_t) != 0) break;
    if (bounds.high != 0 &&
        (frame < bounds.low || frame + 2 * sizeof(std::uintptr_t) > bounds.high)) {
      break;
    }
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(frame);
    const std::uintptr_t return_address = slots[1];
    const std::uintptr_t caller_frame = slots[0];
    if (return_address == 0) break;
    if (skip > 0) {
      --skip;
    } else {
      out[count++] = return_address;
    }
    if (caller_frame <= frame) break;
    frame = caller_frame;
  }
  return count;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
