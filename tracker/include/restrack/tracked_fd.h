// restrack/tracked_fd.h — TrackedFd, a move-only owner of a POSIX file descriptor.
//
//   restrack::TrackedFd file(::open("data.bin", O_RDONLY));
//   ...
//   if (int err = file.close()) { /* errno value from close(2) */ }
//
// Destroying a TrackedFd that is still open closes the descriptor and reports
// "unclosed handle <fd=3 /path/to/data.bin>" with the allocation trace. Closing twice and
// using it (get()) after close are reported as misuse, with where it was first closed.
// The kind defaults to kinds::handle; pass kinds::socket or kinds::pipe (or your own,
// with static storage duration) to say what it is.
//
// The description is taken when reported, from what the descriptor refers to:
// "tcp fd=7 127.0.0.1:40312->127.0.0.1:8080", "unix fd=5 /run/x.sock", "fd=3 /path" for a
// file, "fd=4 pipe:[12345]" for a pipe.
#pragma once

#include <string>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/kind.h"

RESTRACK_NAMESPACE_BEGIN

class TrackedFd {
 public:
  using native_handle_type = int;

  // An empty handle (get() == -1); not tracked.
  TrackedFd() noexcept = default;
  // Takes ownership of `fd`. A negative fd gives an empty handle.
  explicit TrackedFd(int fd, const Kind& kind = kinds::handle) noexcept;
  TrackedFd(int fd, const Kind&& kind) = delete;  // kinds are kept by address
  TrackedFd(TrackedFd&& other) noexcept;
  // Overwriting an open handle closes its descriptor and reports it as unclosed, as
  // destroying it would.
  TrackedFd& operator=(TrackedFd&& other) noexcept;
  ~TrackedFd();

  // The descriptor, or -1 if empty. Calling it after close() reports "used after close".
  int get() const noexcept;
  bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Closes the descriptor. Returns 0, or the errno value of close(2). Closing again
  // reports "closed twice" and returns EBADF; closing an empty handle returns EBADF.
  int close() noexcept;

  // Gives up ownership without closing and returns the descriptor; the handle becomes
  // empty (not closed) and untracked.
  int release() noexcept;

  // The text between < and > of a report for an open descriptor.
  static std::string describe(int fd);

 private:
  void open_guard(const Kind& kind) noexcept;
  void take_guard(TrackedFd& other) noexcept;

  int fd_ = -1;
#if RESTRACK_TRACKING
  // The descriptor number after close, for the text of a misuse report.
  int closed_fd_ = -1;
#endif
  [[no_unique_address]] ResourceGuard guard_;
};

RESTRACK_NAMESPACE_END
