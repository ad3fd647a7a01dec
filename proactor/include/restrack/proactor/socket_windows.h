// restrack/proactor/socket_windows.h — the socket types on Windows (included through
// restrack/proactor/socket.h; do not include it directly).
//
// A socket is a Winsock SOCKET, owned by a restrack::TrackedSocket of kind `socket`: the
// same API as restrack::TrackedFd on POSIX, so code written against restrack::Socket and
// restrack::NativeSocket compiles unchanged on both. Include this before <windows.h> (or
// define WIN32_LEAN_AND_MEAN): <winsock2.h> must come first. The proactor's targets define
// NOMINMAX for their users, so std::min and std::max stay usable.
#pragma once

#include <winsock2.h>
#include <ws2tcpip.h>

#include <string>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/kind.h"

RESTRACK_NAMESPACE_BEGIN

// What the operating system calls a socket.
using NativeSocket = SOCKET;
inline constexpr NativeSocket kInvalidSocket = INVALID_SOCKET;

// A move-only owner of a Winsock SOCKET. Destroying one that is still open closes the
// socket and reports "unclosed socket <...>" with the allocation trace; closing twice and
// get() after close are reported as misuse.
class TrackedSocket {
 public:
  using native_handle_type = SOCKET;

  // An empty handle (get() == INVALID_SOCKET); not tracked.
  TrackedSocket() noexcept = default;
  // Takes ownership of `socket`. INVALID_SOCKET gives an empty handle.
  explicit TrackedSocket(SOCKET socket, const Kind& kind = kinds::socket) noexcept;
  TrackedSocket(SOCKET socket, const Kind&& kind) = delete;  // kinds are kept by address
  TrackedSocket(TrackedSocket&& other) noexcept;
  // Overwriting an open handle closes its socket and reports it as unclosed.
  TrackedSocket& operator=(TrackedSocket&& other) noexcept;
  ~TrackedSocket();

  // The socket, or INVALID_SOCKET if empty. Calling it after close() reports "used after
  // close".
  SOCKET get() const noexcept;
  bool is_open() const noexcept { return socket_ != INVALID_SOCKET; }
  explicit operator bool() const noexcept { return is_open(); }

  // Closes the socket (closesocket). Returns 0 or the WSAGetLastError() value. Closing
  // again reports "closed twice" and returns WSAENOTSOCK, as does closing an empty handle.
  int close() noexcept;

  // Gives up ownership without closing and returns the socket; the handle becomes empty
  // (not closed) and untracked.
  SOCKET release() noexcept;

  // The text between < and > of a report: "tcp socket=312 127.0.0.1:50123->127.0.0.1:80".
  static std::string describe(SOCKET socket);

 private:
  void open_guard(const Kind& kind) noexcept;
  void take_guard(TrackedSocket& other) noexcept;

  SOCKET socket_ = INVALID_SOCKET;
  [[no_unique_address]] ResourceGuard guard_;
};

// The tracked owner of a socket.
using Socket = TrackedSocket;

RESTRACK_NAMESPACE_END
