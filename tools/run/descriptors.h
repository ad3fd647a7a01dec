// restrack-run's descriptor table: one record per descriptor number, each a tracked
// resource of the tracker in use (restrack-run's own, or the program's once it attaches,
// see tracker/src/interposer.h). The interposers (interposers.cc) call these after the
// real call, from the one frame of the interposed function, so that each trace starts in
// the caller's code. Every function here is noexcept, keeps errno, and does nothing while
// tracking is off on this thread (inside the tracker, or inside restrack-run itself).
#pragma once

#include <string>

#include "restrack/kind.h"
#include "restrack/trace.h"

namespace restrack::run {

// What created a descriptor: the word a report shows ("unclosed file", "pipe still open
// at exit").
namespace kinds {
inline constexpr Kind file{"file"};
inline constexpr Kind socket{"socket"};
inline constexpr Kind pipe{"pipe"};
inline constexpr Kind epoll{"epoll"};
inline constexpr Kind eventfd{"eventfd"};
inline constexpr Kind timerfd{"timerfd"};
inline constexpr Kind signalfd{"signalfd"};
inline constexpr Kind memfd{"memfd"};
inline constexpr Kind inotify{"inotify"};
inline constexpr Kind stream{"stream"};          // fopen, fdopen, freopen, tmpfile, popen
inline constexpr Kind directory{"directory"};    // opendir, fdopendir
inline constexpr Kind descriptor{"descriptor"};  // a duplicate of one restrack-run never saw
}  // namespace kinds

// True when calls on this thread are tracked now: restrack-run has started, tracking is
// enabled, and the call does not come from the tracker or restrack-run themselves.
bool tracking() noexcept;

// A call created `fd` (>= 0). Descriptors 0-2 (standard streams) are never tracked.
void opened(int fd, const Kind& kind) noexcept;
// dup/dup2/dup3/fcntl(F_DUPFD*) made `fd` from `from`: same kind as `from`.
void duplicated(int fd, int from) noexcept;
// fdopen/fdopendir turned tracked `fd` into a stream or directory: it now needs fclose or
// closedir, so its record is opened again under the new kind and trace.
void converted(int fd, const Kind& kind) noexcept;

// A close of `fd` in three steps around the real call. `before_close` looks up whether a
// restrack owner holds `fd` (describing it while it is still open) and takes its record
// out of the live set; `after_close` reports what the result shows: closed behind its
// owner's back, or closed while not open (the real call failed with EBADF).
struct PendingClose {
  int fd = -1;
  bool active = false;        // tracking was on: after_close has work to do
  const void* api = nullptr;  // the tracker the traces below belong to
  bool owned = false;
  const Kind* owner_kind = nullptr;
  TraceId owner_trace = kNoTrace;
  std::string description;        // taken while the descriptor was still open (owned only)
  bool was_open = false;          // restrack-run's record said open
  bool was_closed = false;        // ... or said closed already
  bool reported_already = false;  // closed behind its owner's back before
  const Kind* kind = nullptr;     // the record's kind
  TraceId open_trace = kNoTrace;
  TraceId first_close_trace = kNoTrace;
};
void before_close(int fd, PendingClose& pending) noexcept;
void after_close(PendingClose& pending, bool failed_not_open) noexcept;

// close_range/closefrom closed every descriptor of [first, last] (restrack-run's
// records in that range, and owners behind whose back it was).
void before_close_range(unsigned first, unsigned last) noexcept;

// Marks the descriptors open now as inherited (not tracked): at start-up, and in a fork
// child for those the parent tracked.
void adopt_open_descriptors_as_inherited() noexcept;
void forget_parent_records_in_child() noexcept;

// Starts restrack-run in this process (the library's constructor).
void start() noexcept;

}  // namespace restrack::run
