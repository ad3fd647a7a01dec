// Stack capture by walking the frame-pointer chain: each frame starts with the caller's
// frame pointer followed by the return address (x86-64 and AArch64 alike). The walk is
// checked — every frame must lie inside the thread's stack, be aligned and sit above the
// previous one — so a function built without frame pointers ends the trace early instead
// of sending the walk into arbitrary memory.
//
// The loop is on the path of every traced open: the stack's lower bound is checked once
// (frames only go up from there), the upper bound is folded into one comparison, and the
// frames to skip are walked before the loop that stores. The function is aligned to a
// cache line, so that where its loop falls no longer depends on the code linked before
// it: a shift of 16 bytes moved the depth-16 open+close by 1–3 ns.
#include "capture.h"
#include "platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

__attribute__((noinline, aligned(64), no_sanitize("address", "hwaddress"))) int
capture_frame_pointers(std::uintptr_t* out, int max_frames, int skip) noexcept {
  const StackBounds bounds = current_stack_bounds();
  auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  constexpr std::uintptr_t kFrameSize = 2 * sizeof(std::uintptr_t);
  // Unknown bounds (no pthread attributes): only alignment and order protect the walk.
  const std::uintptr_t last = bounds.high != 0 ? bounds.high - kFrameSize : ~std::uintptr_t{0};
  // Our own frame outside the thread's stack: this code runs on a stack of its own (a
  // fiber, a ucontext), whose extent restrack cannot know. Say so rather than return an
  // empty trace that looks like tracing was off.
  if (bounds.high != 0 && (frame < bounds.low || frame > last)) return -1;
  // A frame is followed while it is aligned, inside the stack, and above the one before.
  const auto next = [last](std::uintptr_t current, std::uintptr_t caller) {
    return caller > current && caller <= last && caller % sizeof(std::uintptr_t) == 0;
  };
  for (; skip > 0; --skip) {
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(frame);
    if (slots[1] == 0 || !next(frame, slots[0])) return 0;
    frame = slots[0];
  }
  int count = 0;
  while (count < max_frames) {
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(frame);
    const std::uintptr_t return_address = slots[1];
    if (return_address == 0) break;
    out[count++] = return_address;
    const std::uintptr_t caller = slots[0];
    if (!next(frame, caller)) break;
    frame = caller;
  }
  return count;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
