// Windows implementation of restrack/tracked_handle.h: TrackedHandle and TrackedSocket,
// built as TrackedFd is (tracked_fd.cc) on CloseHandle and closesocket.
#include "restrack/tracked_handle.h"

#include <winsock2.h>

#include <cstdio>
#include <type_traits>

#include "platform/handle_description_windows.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

static_assert(std::is_same_v<TrackedHandle::native_handle_type, HANDLE>);
static_assert(std::is_same_v<TrackedSocket::native_handle_type, SOCKET>);
static_assert(TrackedSocket::invalid == INVALID_SOCKET);
static_assert(std::is_same_v<decltype(TrackedHandle{}.close()), DWORD>);

// "handle=0x1a4 (closed)", "socket=0x1b0 (closed)": the value an owner held, once closed.
[[maybe_unused]] std::string closed_text(const char* what, std::uintptr_t value) {
  char text[64];
  std::snprintf(text, sizeof text, "%s=0x%llx (closed)", what,
                static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

TrackedHandle::TrackedHandle(void* handle, const Kind& kind) noexcept
    : handle_(handle == INVALID_HANDLE_VALUE ? nullptr : handle) {
  if (handle_ != nullptr) open_guard(kind);
}

void TrackedHandle::open_guard(const Kind& kind) noexcept {
  guard_.open(kind, this, [](const void* self) {
    const auto* owner = static_cast<const TrackedHandle*>(self);
#if RESTRACK_TRACKING
    if (owner->handle_ == nullptr) {
      return closed_text("handle", reinterpret_cast<std::uintptr_t>(owner->closed_handle_));
    }
#endif
    return describe(owner->handle_);
  });
}

TrackedHandle::TrackedHandle(TrackedHandle&& other) noexcept : handle_(other.handle_) {
  take_guard(other);
}

void TrackedHandle::take_guard(TrackedHandle& other) noexcept {
  guard_.move_from(other.guard_, this);
  other.handle_ = nullptr;
#if RESTRACK_TRACKING
  closed_handle_ = other.closed_handle_;
  other.closed_handle_ = nullptr;
#endif
}

TrackedHandle& TrackedHandle::operator=(TrackedHandle&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) {
      // Overwriting an open handle loses it just like destroying it.
      guard_.release_and_warn([this]() noexcept { CloseHandle(handle_); });
    }
    handle_ = other.handle_;
    take_guard(other);
  }
  return *this;
}

TrackedHandle::~TrackedHandle() {
  if (handle_ != nullptr) guard_.release_and_warn([this]() noexcept { CloseHandle(handle_); });
}

void* TrackedHandle::get() const noexcept {
  if (handle_ == nullptr) guard_.check_use();
  return handle_;
}

unsigned long TrackedHandle::close() noexcept {
  if (handle_ == nullptr) {
    guard_.close();  // reports "closed twice" if this handle was closed before
    return ERROR_INVALID_HANDLE;
  }
  HANDLE handle = handle_;
#if RESTRACK_TRACKING
  closed_handle_ = handle;
#endif
  guard_.close();
  handle_ = nullptr;
  // A handle CloseHandle refused is not valid: it is never retried.
  return CloseHandle(handle) ? 0 : GetLastError();
}

void* TrackedHandle::release() noexcept {
  HANDLE handle = handle_;
  if (handle_ != nullptr) {
    // Given away, not closed: a later get() or close() on the empty owner is no misuse.
    guard_.forget();
    handle_ = nullptr;
  }
  return handle;
}

std::string TrackedHandle::describe(void* handle) { return internal::describe_handle(handle); }

TrackedSocket::TrackedSocket(std::uintptr_t socket, const Kind& kind) noexcept : socket_(socket) {
  if (socket_ != invalid) open_guard(kind);
}

TrackedSocket TrackedSocket::from_handle(void* handle, const Kind& kind) noexcept {
  TrackedSocket owner;
  if (handle == nullptr || handle == INVALID_HANDLE_VALUE) return owner;
  owner.socket_ = reinterpret_cast<std::uintptr_t>(handle);
  owner.holds_handle_ = true;
  owner.open_guard(kind);
  return owner;
}

void TrackedSocket::open_guard(const Kind& kind) noexcept {
  guard_.open(kind, this, [](const void* self) {
    const auto* owner = static_cast<const TrackedSocket*>(self);
#if RESTRACK_TRACKING
    if (owner->socket_ == invalid) {
      return closed_text(owner->holds_handle_ ? "handle" : "socket", owner->closed_socket_);
    }
#endif
    if (owner->holds_handle_) {
      return internal::describe_handle(reinterpret_cast<HANDLE>(owner->socket_));
    }
    return describe(owner->socket_);
  });
}

int TrackedSocket::close_now(std::uintptr_t socket) const noexcept {
  if (holds_handle_) {
    return CloseHandle(reinterpret_cast<HANDLE>(socket)) ? 0 : static_cast<int>(GetLastError());
  }
  return closesocket(socket) == 0 ? 0 : WSAGetLastError();
}

TrackedSocket::TrackedSocket(TrackedSocket&& other) noexcept : socket_(other.socket_) {
  take_guard(other);
}

void TrackedSocket::take_guard(TrackedSocket& other) noexcept {
  guard_.move_from(other.guard_, this);
  holds_handle_ = other.holds_handle_;
  // The port binding belongs to the handle, which changes owner.
  note_completion_port(other.completion_port_.exchange(nullptr, std::memory_order_relaxed));
  other.socket_ = invalid;
#if RESTRACK_TRACKING
  closed_socket_ = other.closed_socket_;
  other.closed_socket_ = invalid;
#endif
}

TrackedSocket& TrackedSocket::operator=(TrackedSocket&& other) noexcept {
  if (this != &other) {
    if (socket_ != invalid) {
      // Overwriting an open socket loses it just like destroying it.
      guard_.release_and_warn([this]() noexcept { close_now(socket_); });
    }
    socket_ = other.socket_;
    take_guard(other);
  }
  return *this;
}

TrackedSocket::~TrackedSocket() {
  if (socket_ != invalid) guard_.release_and_warn([this]() noexcept { close_now(socket_); });
}

std::uintptr_t TrackedSocket::get() const noexcept {
  if (socket_ == invalid) guard_.check_use();
  return socket_;
}

int TrackedSocket::close() noexcept {
  if (socket_ == invalid) {
    guard_.close();  // reports "closed twice" if this socket was closed before
    return WSAENOTSOCK;
  }
  const SOCKET socket = socket_;
#if RESTRACK_TRACKING
  closed_socket_ = socket;
#endif
  guard_.close();
  socket_ = invalid;
  note_completion_port(nullptr);
  // A socket closesocket (or CloseHandle) refused is not valid: it is never retried.
  return close_now(socket);
}

std::uintptr_t TrackedSocket::release() noexcept {
  const SOCKET socket = socket_;
  if (socket_ != invalid) {
    // Given away, not closed: a later get() or close() on the empty owner is no misuse.
    guard_.forget();
    socket_ = invalid;
    note_completion_port(nullptr);
  }
  return socket;
}

std::string TrackedSocket::describe(std::uintptr_t socket) {
  return internal::describe_socket(socket);
}

RESTRACK_NAMESPACE_END
