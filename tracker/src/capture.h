// Internal: stack capture — return addresses of the calling thread, innermost first.
// One file per method (capture_frame_pointer.cc, capture_dwarf.cc), and the depth policy
// on top of both (capture.cc).
#pragma once

#include "restrack/config.h"

#include <atomic>
#include <cstdint>

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
// changed the record under does not count.
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
    std::uintptr_t start = 0;  // capture()'s frame when it walked; 0: nothing to replay
    int max_frames = 0;
    int skip = 0;
    int read_count = 0;  // frames read, skipped ones included
    TraceId id = kNoTrace;
    // The two words the walk read at each frame, as they lie on the stack: the caller's
    // frame pointer, then the return address. Aligned for the replay's 16-byte compares.
    alignas(16) std::uintptr_t frames[kCapacity][2] = {};
  };
  // The slower paths of capture(): walk from `start`, capture()'s own frame, and remember
  // the walk or not.
  TraceId walk_and_keep(std::uintptr_t start, int max_frames, int skip) noexcept;
  TraceId walk_alone(std::uintptr_t start, int max_frames, int skip) noexcept;

  // Raised by walk_and_keep before and after it writes (odd while it writes), so that a
  // replay a signal handler's walk interrupted sees it.
  std::atomic<std::uint32_t> generation_{0};
#endif
  Walk walks_[kWalks];
  int oldest_ = 0;  // the walk the next one to be remembered replaces
};

// RecentWalk::capture() on a RecentWalk of its own, which nothing replays: for a thread whose
// memo is gone (it has ended; thread_slot.h).
TraceId capture_without_memo(int max_frames, int skip) noexcept;

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

}  // namespace internal
RESTRACK_NAMESPACE_END
