#include "capture.h"

#include "stack_depot.h"
#include "thread_slot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The last trace this thread captured by DWARF unwinding and by frame pointers: a site
// that opens in a loop (a proactor task's requests among them) skips the depot's hash and
// probe, and with frame pointers the walk too. Both hold the default depth with a task's
// dispatch frames (about 30).
constexpr ThreadObject<RecentTrace<32>, struct LastUnwind> tls_last_unwind;
constexpr ThreadObject<RecentWalk, struct LastWalk> tls_last_walk;

}  // namespace

void (*walk_interruption_for_test)() noexcept = nullptr;

__attribute__((noinline)) TraceId capture_with_depth(int depth, CaptureMethod method,
                                                     int skip) noexcept {
  if (depth <= 0) return kNoTrace;
  const int wanted = depth > kMaxCaptureFrames - kLibraryFrameAllowance
                         ? kMaxCaptureFrames
                         : depth + kLibraryFrameAllowance;
  // +1: this function's own frame.
  TraceId id = kTraceWalkStopped;
  if (method == CaptureMethod::dwarf) {
    std::uintptr_t frames[kMaxCaptureFrames];
    const int count = capture_dwarf(frames, wanted, skip + 1);
    if (count >= 0) {
      RecentTrace<32>* last = tls_last_unwind.find();
      id = last != nullptr ? last->intern(frames, count) : intern_trace(frames, count);
    }
  } else if (RecentWalk* walk = tls_last_walk.find()) [[likely]] {
    id = walk->capture(wanted, skip + 1);
  } else {
    id = capture_without_memo(wanted, skip + 1);
  }
  // Not a tail call: `skip + 1` counts this function's frame.
  asm volatile("");
  return id;
}

__attribute__((noinline)) TraceId capture_without_memo(int max_frames, int skip) noexcept {
  RecentWalk walk;
  const TraceId id = walk.capture(max_frames, skip + 1);
  // Not a tail call: `skip + 1` counts this function's frame.
  asm volatile("");
  return id;
}

#if !defined(_WIN32)
TraceId capture_from_without_memo(std::uintptr_t frame, int max_frames) noexcept {
  RecentWalk walk;
  return walk.capture_from(frame, max_frames);
}
#endif

__attribute__((noinline)) TraceId capture_site(int skip) noexcept {
  std::uintptr_t frames[kMaxCaptureFrames];
  const int count = capture_dwarf(frames, kMaxCaptureFrames, skip + 1);
  return intern_trace(frames, count);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
