#include "restrack/tracked_fd.h"

#include <unistd.h>

#include <cerrno>

#include "fd_description.h"
#include "fd_owners.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

// restrack-run (docs/restrack-run.md) learns which descriptors a TrackedFd holds, to tell
// a close behind its back; without restrack-run each call is one relaxed load.
void note_owner([[maybe_unused]] int fd, [[maybe_unused]] const Kind& kind,
                [[maybe_unused]] TraceId trace) noexcept {
#if RESTRACK_TRACKING
  internal::note_fd_owner(fd, kind, trace);
#endif
}

// Before the descriptor is closed or given away: the owner's own close is no report.
void drop_owner([[maybe_unused]] int fd) noexcept {
#if RESTRACK_TRACKING
  internal::drop_fd_owner(fd);
#endif
}

}  // namespace

TrackedFd::TrackedFd(int fd, const Kind& kind) noexcept : fd_(fd < 0 ? -1 : fd) {
  if (fd_ >= 0) {
    open_guard(kind);
    note_owner(fd_, kind, guard_.allocation_trace());
  }
}

void TrackedFd::open_guard(const Kind& kind) noexcept {
  guard_.open(kind, this, [](const void* self) {
    const auto* handle = static_cast<const TrackedFd*>(self);
#if RESTRACK_TRACKING
    if (handle->fd_ < 0) return "fd=" + std::to_string(handle->closed_fd_) + " (closed)";
#endif
    return describe(handle->fd_);
  });
}

TrackedFd::TrackedFd(TrackedFd&& other) noexcept : fd_(other.fd_) { take_guard(other); }

void TrackedFd::take_guard(TrackedFd& other) noexcept {
  guard_.move_from(other.guard_, this);
  other.fd_ = -1;
#if RESTRACK_TRACKING
  closed_fd_ = other.closed_fd_;
  other.closed_fd_ = -1;
#endif
}

TrackedFd& TrackedFd::operator=(TrackedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      // Overwriting an open handle loses it just like destroying it.
      guard_.release_and_warn([this]() noexcept {
        drop_owner(fd_);
        ::close(fd_);
      });
    }
    fd_ = other.fd_;
    take_guard(other);
  }
  return *this;
}

TrackedFd::~TrackedFd() {
  if (fd_ >= 0) {
    guard_.release_and_warn([this]() noexcept {
      drop_owner(fd_);
      ::close(fd_);
    });
  }
}

int TrackedFd::get() const noexcept {
  if (fd_ < 0) guard_.check_use();
  return fd_;
}

int TrackedFd::close() noexcept {
  if (fd_ < 0) {
    guard_.close();  // reports "closed twice" if this handle was closed before
    return EBADF;
  }
  const int fd = fd_;
#if RESTRACK_TRACKING
  closed_fd_ = fd;
#endif
  guard_.close();
  fd_ = -1;
  drop_owner(fd);
  // Linux releases the descriptor even when close(2) fails, so it is never retried.
  return ::close(fd) == 0 ? 0 : errno;
}

int TrackedFd::release() noexcept {
  const int fd = fd_;
  if (fd_ >= 0) {
    // Given away, not closed: a later get() or close() on the empty handle is no misuse.
    drop_owner(fd_);
    guard_.forget();
    fd_ = -1;
  }
  return fd;
}

std::string TrackedFd::describe(int fd) { return internal::describe_fd(fd); }

RESTRACK_NAMESPACE_END
