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
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

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
  // A signal handler's walk_and_keep between the two reads of the generation (on this
  // thread, so it ends before this resumes) makes the replay's reads a mixture: no match.
  const std::uint32_t generation = generation_.load(std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // Two sites can walk from the same frame (two callers at one depth): every walk from
  // here is tried until one matches.
  for (const Walk& walk : walks_) {
    if (start != walk.start || max_frames != walk.max_frames || skip != walk.skip) continue;
    // The addresses come from the remembered frames, not from the loads: no load waits
    // for another. Every address was checked by the walk that remembered it, and lies
    // above `start`, in the live part of this thread's stack.
    std::uintptr_t at = start;
#if defined(__x86_64__)
    // A frame's two words in one 16-byte compare: fewer instructions per frame.
    __m128i differs = _mm_setzero_si128();
    const auto compare = [&](int i) {
      const __m128i seen = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      const __m128i kept = _mm_load_si128(reinterpret_cast<const __m128i*>(walk.frames[i]));
      differs = _mm_or_si128(differs, _mm_xor_si128(seen, kept));
      at = walk.frames[i][0];
    };
    int i = 0;
    for (; i + 1 < walk.read_count; i += 2) {  // two frames a turn: half the loop's overhead
      compare(i);
      compare(i + 1);
    }
    if (i < walk.read_count) compare(i);
    const bool differ = _mm_movemask_epi8(_mm_cmpeq_epi8(differs, _mm_setzero_si128())) != 0xFFFF;
#else
    std::uintptr_t differ = 0;
    for (int i = 0; i < walk.read_count; ++i) {
      const auto* slots = reinterpret_cast<const std::uintptr_t*>(at);
      differ |= (slots[0] ^ walk.frames[i][0]) | (slots[1] ^ walk.frames[i][1]);
      at = walk.frames[i][0];
    }
#endif
    const TraceId id = walk.id;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (!differ && (generation & 1U) == 0 &&
        generation == generation_.load(std::memory_order_relaxed)) {
      return id;
    }
  }
  const TraceId id = walk_and_keep(start, max_frames, skip);
  // Not a tail call: the walk reads this function's frame, which must stay where it is.
  asm volatile("" ::: "memory");
  return id;
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
  kept.start = 0;  // nothing to replay until the walk is complete
  std::atomic_signal_fence(std::memory_order_seq_cst);
  int read_count = 0;
  const int count = walk<true>(start, nullptr, max_frames, skip, kept.frames, read_count);
  if (walk_interruption_for_test != nullptr) walk_interruption_for_test();
  TraceId id = kTraceWalkStopped;
  if (count >= 0) {
    std::uintptr_t trace[kCapacity];
    for (int i = 0; i < count; ++i) trace[i] = kept.frames[skip + i][1];
    id = intern_trace(trace, count);
    kept.id = id;
    kept.max_frames = max_frames;
    kept.skip = skip;
    kept.read_count = read_count;
    kept.start = start;
    oldest_ = oldest_ + 1 == kWalks ? 0 : oldest_ + 1;
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  generation_.store(generation + 2, std::memory_order_relaxed);
  return id;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
