// Internal: stack capture — return addresses of the calling thread, innermost first.
// One file per method (capture_frame_pointer.cc, capture_dwarf.cc), and the depth policy
// on top of both (capture.cc).
#pragma once

#include "restrack/config.h"

#include <atomic>
#include <cstdint>
#if defined(__x86_64__) && !defined(_WIN32)
#include <emmintrin.h>
#endif

#include "restrack/options.h"
#include "restrack/trace.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Fill `out` with up to `max_frames` return addresses, skipping `skip` frames above the
// caller. Return the count, or -1 when the frame-pointer walk could not start because the
// thread runs on a stack it does not know (a fiber).
int capture_frame_pointers(std::uintptr_t* out, int max_frames, int skip) noexcept;
#if defined(_WIN32)
// Windows: the trace RtlCaptureStackBackTrace would give, ending before a null return
// address (a thread's start), by the rules learned for each return address
// (capture_windows.cc); -1 where a frame has none and cannot get one, and
// capture_frame_pointers then asks RtlCaptureStackBackTrace. `skip` as there.
int capture_by_unwind_rules(std::uintptr_t* out, int max_frames, int skip) noexcept;
#endif
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

// Captures like capture_frame_pointers and interns the trace, remembering this thread's
// last kWalks walks from one kind of site (one RecentWalk per thread for opens, one for
// closes; thread_slot.h).
//
// A site that captures in a loop walks from the same frame each time, below the same
// frames. A walk is a chain of loads, each waiting for the frame pointer the one before it
// found; a replay checks the remembered frames against the stack with the addresses
// already known, so its loads run side by side. The walk is a function of where it starts
// and of the words it reads, so where the start is the same frame and every word is
// unchanged, it would find the same trace: the remembered id is returned without walking
// or hashing. Anything else is walked, interned and remembered in place of the walk
// remembered longest.
//
// Several walks are remembered because sites take turns: a proactor task's receive and
// send, the two ends of a connection served by one loop, open in alternation, and with
// one walk remembered each would replace the other's.
//
// A signal handler that captures on a thread whose capture it interrupted gets its own
// trace, and leaves the interrupted capture its own: a walk being remembered is not
// disturbed (the handler walks without the record), and a replay that the handler's walk
// changed the record under does not count (the record's start, read again after the
// replay, is then the handler's frame: never the interrupted replay's, which is live).
//
// On Windows there is no frame-pointer chain (capture_windows.cc); the walk by unwind
// rules is replayed the same way: it is a function of the registers it starts from (this
// function's own) and of the words it reads, a saved rbp and a return address per frame.
class RecentWalk {
 public:
  // The frames a walk may read (skipped ones included) and still be remembered.
  static constexpr int kCapacity = 40;
  // The walks remembered at once.
  static constexpr int kWalks = 4;

  // Up to `max_frames` return addresses after `skip` frames, counted from this function's
  // own (0 starts with the return address into the caller), interned. kNoTrace for an
  // empty trace, kTraceWalkStopped when the walk could not start (a stack restrack does
  // not know, such as a fiber's).
  TraceId capture(int max_frames, int skip) noexcept;

#if !defined(_WIN32)
  // capture() from `frame`, the frame of a caller of this function: up to `max_frames`
  // return addresses from the one in `frame` on. `frame` may also be a frame record that
  // replaced the caller's with the same two words (the caller's tail call left it).
  TraceId capture_from(std::uintptr_t frame, int max_frames) noexcept;
  // The replay of a remembered walk from `start`, with no call and no store: true, and the
  // walk's trace in `id`, when one matches the stack. For a caller that replays in its own
  // body, before it falls back to capture_from().
  bool replay(std::uintptr_t start, int max_frames, int skip, TraceId& id) const noexcept;
  // replay() of a walk of at most kFrames frames from `start`, none skipped: the compares
  // unrolled, left where the walk's count says, for the fewest instructions and registers
  // in the caller's body.
  template <int kFrames>
  bool replay_short(std::uintptr_t start, TraceId& id) const noexcept;
#endif

 private:
#if defined(_WIN32)
  struct Registers {
    std::uintptr_t rip = 0;
    std::uintptr_t rsp = 0;
    std::uintptr_t rbp = 0;
  };
  struct Walk {
    std::uintptr_t start_rsp = 0;  // capture()'s rsp when it walked; 0: nothing to replay
    std::uintptr_t start_rbp = 0;
    int max_frames = 0;
    int skip = 0;
    int read_count = 0;
    TraceId id = kNoTrace;
    // Every word the walk read, in order, and where: at most a saved rbp and a return
    // address per frame.
    const std::uintptr_t* read_at[2 * kCapacity] = {};
    std::uintptr_t read_words[2 * kCapacity] = {};
  };
  // The slower path of capture(): walk from capture()'s registers, and remember the walk
  // where it fits.
  TraceId walk_and_keep(Registers start, int max_frames, int skip) noexcept;
#else
  struct Walk {
    // capture()'s frame when it walked; 0 while the record is written, or holds nothing.
    // Written and read around signal fences only (see walk_and_keep, replay_matching).
    std::uintptr_t start = 0;
    // What a replay needs besides the frames, in one load: the trace's id in the low half,
    // and in the high half its max_frames and skip (request_of()) and the frames it read,
    // skipped ones included (shape_of()).
    std::uint64_t found = 0;
    // The two words the walk read at each frame, as they lie on the stack: the caller's
    // frame pointer, then the return address. Aligned for the replay's 16-byte compares.
    alignas(16) std::uintptr_t frames[kCapacity][2] = {};
  };
  // A walk's max_frames and skip, a byte each: a remembered walk's are at most kCapacity,
  // and a larger one is 0xff, which no remembered walk has.
  static constexpr std::uint32_t request_of(int max_frames, int skip) noexcept {
    const auto byte = [](int value) {
      return value >= 0 && value <= kCapacity ? static_cast<std::uint32_t>(value) : 0xffU;
    };
    return byte(max_frames) | (byte(skip) << 8);
  }
  // The request, then in the low byte the frames read (at most kCapacity).
  static constexpr std::uint32_t shape_of(int max_frames, int skip, int read_count) noexcept {
    return (request_of(max_frames, skip) << 8) | static_cast<std::uint8_t>(read_count);
  }
  static constexpr std::uint64_t found_of(TraceId id, int max_frames, int skip,
                                          int read_count) noexcept {
    return id | (std::uint64_t{shape_of(max_frames, skip, read_count)} << 32);
  }
  // The slower paths of capture(): walk from `start`, capture()'s own frame, and remember
  // the walk or not.
  TraceId walk_and_keep(std::uintptr_t start, int max_frames, int skip) noexcept;
  TraceId walk_alone(std::uintptr_t start, int max_frames, int skip) noexcept;
  // Whether the stack from `start` holds `walk`'s first `count` frames, of which the first
  // `pushed` were pushed by the call that replays (below).
  static bool same_frames(const Walk& walk, std::uintptr_t start, int count, int pushed) noexcept;
  // same_frames() of 1 to kFrames frames, the first pushed by the call that replays.
  template <int kFrames>
  static bool same_short_frames(const Walk& walk, std::uintptr_t start, int count) noexcept;
  template <int kFrames>
  bool replay_matching(std::uintptr_t start, int max_frames, int skip, TraceId& id) const noexcept;

  // Raised by walk_and_keep before and after it writes (odd while it writes), so that a
  // signal handler's walk that interrupted it leaves the record alone.
  std::atomic<std::uint32_t> generation_{0};
#endif
  Walk walks_[kWalks];
  int oldest_ = 0;  // the walk the next one to be remembered replaces
};

// RecentWalk::capture() on a RecentWalk of its own, which nothing replays: for a thread whose
// memo is gone (it has ended; thread_slot.h).
TraceId capture_without_memo(int max_frames, int skip) noexcept;
#if !defined(_WIN32)
// RecentWalk::capture_from() the same way.
TraceId capture_from_without_memo(std::uintptr_t frame, int max_frames) noexcept;
#endif

// Test hook: called by every walk RecentWalk::capture() makes to remember (one that fits
// kCapacity), between the walk and its interning, where a signal handler's capture would
// find the record half written (regression_posix_test.cc raises a signal from it;
// regression_test.cc counts the walks). Null outside those tests.
extern void (*walk_interruption_for_test)() noexcept;

// Captures `depth` user frames plus the allowance with `method`, after skipping `skip`
// frames of the caller's own, and interns them. `depth` is clamped to kMaxCaptureFrames.
// Returns kNoTrace for depth 0, kTraceWalkStopped when the walk could not start.
TraceId capture_with_depth(int depth, CaptureMethod method, int skip = 0) noexcept;

// Captures where a problem is being reported, always with the DWARF unwinder (it sees
// through code without frame pointers) and deep enough to reach the user's code however
// many library frames stand in between (kMaxCaptureFrames). `skip` frames of the
// caller's own are left out.
TraceId capture_site(int skip) noexcept;

#if !defined(_WIN32)
__attribute__((always_inline, no_sanitize("address", "hwaddress"))) inline bool
RecentWalk::same_frames(const Walk& walk, std::uintptr_t start, int count, int pushed) noexcept {
  // The addresses come from the remembered frames, not from the loads: no load waits for
  // another. Every address was checked by the walk that remembered it, and lies above
  // `start`, in the live part of this thread's stack.
  std::uintptr_t at = start;
  std::uintptr_t differ = 0;
  int i = 0;
#if defined(__x86_64__)
  // The frames this call pushed are compared a word at a time: their words may still be
  // on their way to the cache, and only a load of the size of each push is forwarded from
  // it (a 16-byte load over two pushes waits until both are written, and in a loop of
  // closes of cold resources, until the closes before have written theirs).
  for (; i < pushed && i < count; ++i) {
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(at);
    differ |= (slots[0] ^ walk.frames[i][0]) | (slots[1] ^ walk.frames[i][1]);
    at = walk.frames[i][0];
  }
  // The callers' frames, written long before: a frame's two words in one 16-byte compare,
  // and the next frame's address taken from the remembered words already loaded. Two
  // loads a frame: where a close waits for a cold resource, loads and instructions are
  // what it runs out of.
  __m128i differs = _mm_setzero_si128();
  // The lambdas are this function's own code: inlined, and not instrumented either.
  const auto compare = [&](int frame)
      __attribute__((always_inline, no_sanitize("address", "hwaddress"))) {
    __m128i kept = _mm_load_si128(reinterpret_cast<const __m128i*>(walk.frames[frame]));
    // Opaque to the compiler, which would otherwise load the address once more.
    asm("" : "+x"(kept));
    const __m128i seen = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    differs = _mm_or_si128(differs, _mm_xor_si128(seen, kept));
    at = static_cast<std::uintptr_t>(_mm_cvtsi128_si64(kept));
  };
  // Four frames a turn, then a look: sites that take turns often walk from the same frame
  // (a proactor's requests, all submitted through the same calls) and part a few frames
  // up, and a walk that differs stops at the turn that shows it rather than its last frame.
  const auto same_so_far = [&]() __attribute__((always_inline)) {
    return _mm_movemask_epi8(_mm_cmpeq_epi8(differs, _mm_setzero_si128())) == 0xFFFF;
  };
#pragma GCC unroll 2
  for (; i + 3 < count; i += 4) {
    compare(i);
    compare(i + 1);
    compare(i + 2);
    compare(i + 3);
    if (!same_so_far()) return false;
  }
  for (; i < count; ++i) compare(i);
  return differ == 0 && same_so_far();
#else
  static_cast<void>(pushed);
  for (; i < count; ++i) {
    const auto* slots = reinterpret_cast<const std::uintptr_t*>(at);
    differ |= (slots[0] ^ walk.frames[i][0]) | (slots[1] ^ walk.frames[i][1]);
    at = walk.frames[i][0];
  }
  return differ == 0;
#endif
}

template <int kFrames>
__attribute__((always_inline, no_sanitize("address", "hwaddress"))) inline bool
RecentWalk::same_short_frames(const Walk& walk, std::uintptr_t start, int count) noexcept {
#if defined(__x86_64__)
  // As same_frames(), with the fewest loads the caller's body can have: in a loop of
  // closes of cold resources, each close's instructions and loads hold places in the
  // processor while the closes before wait for memory, and a load costs two to three
  // instructions' worth (docs/PERFORMANCE.md). The pushed frame's two words come in
  // one 8-byte load each (forwarded from their pushes) into the halves of one register.
  // Each remembered frame is loaded once, into a register: compared from there, and the
  // next frame's address taken out of its low half. Compared for equality byte by byte,
  // the frames' results and-ed together: one check of the whole at the end.
  const auto* slots = reinterpret_cast<const std::uintptr_t*>(start);
  const __m128i pushed = _mm_castpd_si128(
      _mm_loadh_pd(_mm_castsi128_pd(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(slots))),
                   reinterpret_cast<const double*>(slots + 1)));
  __m128i kept = _mm_load_si128(reinterpret_cast<const __m128i*>(walk.frames[0]));
  __m128i equal = _mm_cmpeq_epi8(pushed, kept);
#pragma GCC unroll 8
  for (int frame = 1; frame < kFrames; ++frame) {
    if (frame == count) break;
    const auto at = static_cast<std::uintptr_t>(_mm_cvtsi128_si64(kept));
    kept = _mm_load_si128(reinterpret_cast<const __m128i*>(walk.frames[frame]));
    // Opaque to the compiler, which would otherwise load the address from memory.
    asm("" : "+x"(kept));
    const __m128i seen = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    equal = _mm_and_si128(equal, _mm_cmpeq_epi8(seen, kept));
  }
  return _mm_movemask_epi8(equal) == 0xFFFF;
#else
  return same_frames(walk, start, count, 1);
#endif
}

template <int kFrames>
__attribute__((always_inline, no_sanitize("address", "hwaddress"))) inline bool
RecentWalk::replay_matching(std::uintptr_t start, int max_frames, int skip,
                            TraceId& id) const noexcept {
  // Whether `walk` matches the stack from `start`; if so, its trace in `id`.
  const auto matches = [&](const Walk& walk) __attribute__((always_inline)) {
    if (walk.start != start) return false;
    const std::uint64_t found = walk.found;
    const auto shape = static_cast<std::uint32_t>(found >> 32);
    int read_count = 0;
    if constexpr (kFrames != 0) {
      // The request, and a count of 1 to kFrames, in one compare.
      const std::uint32_t beyond_first = shape - shape_of(kFrames, 0, 1);
      if (beyond_first >= kFrames) return false;
      read_count = static_cast<int>(beyond_first) + 1;
    } else {
      if ((shape >> 8) != request_of(max_frames, skip)) return false;
      read_count = static_cast<int>(shape & 0xFFU);
    }
    // The frames skipped, and the first one kept, were pushed by the call that replays: the
    // capturing function's own, its callers' in restrack, and the entry point's.
    bool same = false;
    if constexpr (kFrames != 0) {
      same = same_short_frames<kFrames>(walk, start, read_count);
    } else {
      same = same_frames(walk, start, read_count, skip + 1);
    }
    // A signal handler's walk_and_keep that replaced this walk while it was read (on this
    // thread, so it ended before this resumes) left its own frame as the start: no match.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (same && walk.start == start) {
      id = static_cast<TraceId>(found);
      return true;
    }
    return false;
  };
  // Two sites can walk from the same frame (two callers at one depth): every walk from
  // there is tried until one matches.
  if constexpr (kFrames != 0) {
    // Unrolled: each walk's words are then addressed from the thread pointer, with no load
    // of the record's address (where the record is a thread_local).
#pragma GCC unroll 8
    for (int i = 0; i < kWalks; ++i) {
      if (matches(walks_[i])) return true;
    }
  } else {
    for (const Walk& walk : walks_) {
      if (matches(walk)) return true;
    }
  }
  return false;
}

__attribute__((always_inline)) inline bool RecentWalk::replay(std::uintptr_t start, int max_frames,
                                                              int skip,
                                                              TraceId& id) const noexcept {
  return replay_matching<0>(start, max_frames, skip, id);
}

template <int kFrames>
__attribute__((always_inline)) inline bool RecentWalk::replay_short(std::uintptr_t start,
                                                                    TraceId& id) const noexcept {
  static_assert(kFrames > 0 && kFrames <= kCapacity);
  return replay_matching<kFrames>(start, kFrames, 0, id);
}
#endif

}  // namespace internal
RESTRACK_NAMESPACE_END
