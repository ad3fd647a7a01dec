// Stack capture by walking the frame-pointer chain: each frame starts with the caller's
// frame pointer followed by the return address (x86-64 and AArch64 alike). The walk is
// checked — every frame must lie inside the thread's stack, be aligned and sit above the
// previous one — so a function built without frame pointers ends the trace early instead
// of sending the walk into arbitrary memory.
//
// The loop is on the path of every traced open: the stack's lower bound is checked once
// (frames only go up from there), the upper bound is folded into one comparison, and the
// frames to skip are walked before the loop that stores. The entry points are aligned to
// a cache line, so that where their loops fall no longer depends on the code linked
// before them: a shift of 16 bytes moved the depth-16 open+close by 1–3 ns.
//
// RecentWalk (capture.h) replays a remembered walk instead of walking where it can.
#include <atomic>

#include "capture.h"
#include "platform.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The walk from `frame`, the calling entry point's own frame. With `kRecord`, the two
// words of every frame read go to `read_frames`, which has room for skip + max_frames
// frames, and the trace is its return addresses from `skip` on, `count` of them; without
// it, the trace is out[0, count).
template <bool kRecord>
__attribute__((always_inline, no_sanitize("address", "hwaddress"))) inline int walk(
    std::uintptr_t frame, std::uintptr_t* out, int max_frames, int skip,
    std::uintptr_t (*read_frames)[2], int& read_count) noexcept {
  const StackBounds bounds = current_stack_bounds();
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
  // The words of the frame at `at`, recorded if asked.
  const auto read = [&](std::uintptr_t at, std::uintptr_t& caller) {
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(at);
    caller = slots[0];
    const std::uintptr_t return_address = slots[1];
    if constexpr (kRecord) {
      read_frames[read_count][0] = caller;
      read_frames[read_count][1] = return_address;
      ++read_count;
    }
    return return_address;
  };
  std::uintptr_t caller = 0;
  for (; skip > 0; --skip) {
    if (read(frame, caller) == 0 || !next(frame, caller)) return 0;
    frame = caller;
  }
  int count = 0;
  while (count < max_frames) {
    const std::uintptr_t return_address = read(frame, caller);
    if (return_address == 0) break;
    if constexpr (!kRecord) out[count] = return_address;
    ++count;
    if (!next(frame, caller)) break;
    frame = caller;
  }
  return count;
}

}  // namespace

__attribute__((noinline, aligned(64), no_sanitize("address", "hwaddress"))) int
capture_frame_pointers(std::uintptr_t* out, int max_frames, int skip) noexcept {
  int unused = 0;
  return walk<false>(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)), out, max_frames,
                     skip, nullptr, unused);
}

__attribute__((noinline, aligned(64), no_sanitize("address", "hwaddress"))) TraceId
RecentWalk::capture(int max_frames, int skip) noexcept {
  const auto start = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  TraceId id = kNoTrace;
  if (replay(start, max_frames, skip, id)) return id;
  id = walk_and_keep(start, max_frames, skip);
  // Not a tail call: the walk reads this function's frame, which must stay where it is.
  asm volatile("" ::: "memory");
  return id;
}

__attribute__((noinline, no_sanitize("address", "hwaddress"))) TraceId RecentWalk::capture_from(
    std::uintptr_t frame, int max_frames) noexcept {
  TraceId id = kNoTrace;
  if (replay(frame, max_frames, 0, id)) return id;
  return walk_and_keep(frame, max_frames, 0);
}

__attribute__((noinline, no_sanitize("address", "hwaddress"))) TraceId RecentWalk::walk_alone(
    std::uintptr_t start, int max_frames, int skip) noexcept {
  std::uintptr_t frames[kMaxCaptureFrames];
  int read_count = 0;
  const int count = walk<false>(start, frames, max_frames, skip, nullptr, read_count);
  return count < 0 ? kTraceWalkStopped : intern_trace(frames, count);
}

__attribute__((noinline, no_sanitize("address", "hwaddress"))) TraceId RecentWalk::walk_and_keep(
    std::uintptr_t start, int max_frames, int skip) noexcept {
  // A signal handler's capture, on the thread whose walk it interrupted: the record is
  // that walk's, half written.
  const std::uint32_t generation = generation_.load(std::memory_order_relaxed);
  if ((generation & 1U) != 0 || skip + max_frames > kCapacity) {
    return walk_alone(start, max_frames, skip);
  }
  generation_.store(generation + 1, std::memory_order_relaxed);
  Walk& kept = walks_[oldest_];
  kept.start = 0;  // nothing to replay until it is written
  std::atomic_signal_fence(std::memory_order_seq_cst);
  int read_count = 0;
  const int count = walk<true>(start, nullptr, max_frames, skip, kept.frames, read_count);
  if (walk_interruption_for_test != nullptr) walk_interruption_for_test();
  TraceId id = kTraceWalkStopped;
  if (count >= 0) {
    std::uintptr_t trace[kCapacity];
    for (int i = 0; i < count; ++i) trace[i] = kept.frames[skip + i][1];
    id = intern_trace(trace, count);
    kept.found = found_of(id, max_frames, skip, read_count);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    kept.start = start;
    oldest_ = oldest_ + 1 == kWalks ? 0 : oldest_ + 1;
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  generation_.store(generation + 2, std::memory_order_relaxed);
  return id;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
