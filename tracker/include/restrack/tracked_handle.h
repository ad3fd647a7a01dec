// restrack/tracked_handle.h — Windows only: TrackedHandle, a move-only owner of a Windows
// HANDLE, and TrackedSocket, of a Winsock SOCKET. The Windows counterparts of TrackedFd
// (restrack/tracked_fd.h), with the same contract. On other platforms this header declares
// nothing.
//
//   restrack::TrackedHandle file(CreateFileW(L"data.bin", GENERIC_READ, 0, nullptr,
//                                            OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
//   restrack::TrackedSocket peer(accept(listener, nullptr, nullptr));
//   ...
//   if (DWORD err = file.close()) { /* GetLastError() value from CloseHandle */ }
//   if (int err = peer.close()) { /* WSAGetLastError() value from closesocket */ }
//
// Destroying an owner that is still open closes what it holds and reports
// "unclosed handle <file C:\data\data.bin>" (or "unclosed socket <...>") with the
// allocation trace. Closing twice and using it (get()) after close are reported as misuse,
// with where it was first closed. The kind defaults to kinds::handle and kinds::socket;
// pass another (kinds::pipe, or your own with static storage duration) to say what it is.
//
// The description is taken when reported, from what the OS says the object is:
//   "file C:\data\data.bin"      a file (its final path, in UTF-8)
//   "pipe \\.\pipe\name"         a named pipe; "pipe" when the pipe has no name
//   "process pid=4242"           a process
//   "event", "semaphore", ...    any other kernel object: its type, in lower case
//   "tcp socket 127.0.0.1:50123->127.0.0.1:8080"   a connected TCP socket (local->peer)
//   "tcp socket 127.0.0.1:8080"  a bound or listening one; "udp socket ..." for UDP, and
//                                "tcp6 socket [::1]:50123->[::1]:8080" over IPv6
// After close the description is the value it held: "handle=0x1a4 (closed)",
// "socket=0x1b0 (closed)".
//
// A TrackedSocket also carries a note of the I/O completion port its handle is bound to
// (completion_port()), so that an event loop binds a socket to its port once rather than
// asking Windows at every request; restrack's IOCP event loop keeps it.
//
// The header does not include <windows.h>: a HANDLE is a void*, and a SOCKET a
// std::uintptr_t (INVALID_SOCKET is ~std::uintptr_t{0}); both convert without casts.
#pragma once

#ifdef _WIN32

#include <atomic>
#include <cstdint>
#include <string>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/kind.h"

RESTRACK_NAMESPACE_BEGIN

class TrackedHandle {
 public:
  using native_handle_type = void*;  // HANDLE

  // An empty handle (get() == nullptr); not tracked.
  TrackedHandle() noexcept = default;
  // Takes ownership of `handle`. nullptr and INVALID_HANDLE_VALUE (what CreateEventW and
  // CreateFileW return on failure) give an empty handle.
  explicit TrackedHandle(void* handle, const Kind& kind = kinds::handle) noexcept;
  TrackedHandle(void* handle, const Kind&& kind) = delete;  // kinds are kept by address
  TrackedHandle(TrackedHandle&& other) noexcept;
  // Overwriting an open handle closes it and reports it as unclosed, as destroying it
  // would.
  TrackedHandle& operator=(TrackedHandle&& other) noexcept;
  ~TrackedHandle();

  // The handle, or nullptr if empty. Calling it after close() reports "used after close".
  void* get() const noexcept;
  bool is_open() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return handle_ != nullptr; }

  // Closes the handle. Returns 0, or the GetLastError() value of CloseHandle (a DWORD).
  // Closing again reports "closed twice" and returns ERROR_INVALID_HANDLE; closing an
  // empty handle returns ERROR_INVALID_HANDLE.
  unsigned long close() noexcept;

  // Gives up ownership without closing and returns the handle; the owner becomes empty
  // (not closed) and untracked.
  void* release() noexcept;

  // The text between < and > of a report for an open handle.
  static std::string describe(void* handle);

 private:
  void open_guard(const Kind& kind) noexcept;
  void take_guard(TrackedHandle& other) noexcept;

  void* handle_ = nullptr;
#if RESTRACK_TRACKING
  // The handle value after close, for the text of a misuse report.
  void* closed_handle_ = nullptr;
#endif
  [[no_unique_address]] ResourceGuard guard_;
};

class TrackedSocket {
 public:
  using native_handle_type = std::uintptr_t;                     // SOCKET
  static constexpr std::uintptr_t invalid = ~std::uintptr_t{0};  // INVALID_SOCKET

  // An empty socket (get() == INVALID_SOCKET); not tracked.
  TrackedSocket() noexcept = default;
  // Takes ownership of `socket`. INVALID_SOCKET gives an empty socket.
  explicit TrackedSocket(std::uintptr_t socket, const Kind& kind = kinds::socket) noexcept;
  TrackedSocket(std::uintptr_t socket, const Kind&& kind) = delete;  // kept by address
  // Takes ownership of a kernel HANDLE that is used in a socket's place for overlapped I/O:
  // the end of a named pipe, which restrack's proactor reads and writes like a socket. The
  // contract is the same, except that close() (and the destructor) call CloseHandle and
  // return its GetLastError() value, and the description is the handle's ("pipe
  // \\.\pipe\name"; "handle=0x1a4 (closed)" after close). nullptr and INVALID_HANDLE_VALUE
  // give an empty socket.
  static TrackedSocket from_handle(void* handle, const Kind& kind = kinds::pipe) noexcept;
  static TrackedSocket from_handle(void* handle, const Kind&& kind) = delete;
  TrackedSocket(TrackedSocket&& other) noexcept;
  // Overwriting an open socket closes it and reports it as unclosed, as destroying it
  // would.
  TrackedSocket& operator=(TrackedSocket&& other) noexcept;
  ~TrackedSocket();

  // The socket, or INVALID_SOCKET if empty. Calling it after close() reports "used after
  // close".
  std::uintptr_t get() const noexcept;
  bool is_open() const noexcept { return socket_ != invalid; }
  explicit operator bool() const noexcept { return socket_ != invalid; }
  // Whether it holds a HANDLE given to from_handle() rather than a Winsock socket (also
  // after close).
  bool holds_handle() const noexcept { return holds_handle_; }

  // The I/O completion port the handle was bound to (CreateIoCompletionPort), as noted by
  // whoever bound it, or nullptr if none was noted. Windows keeps a handle bound to one port
  // for the handle's whole life, so the note describes the handle, not this owner: it can
  // be set through a const socket (I/O calls take the socket by const reference), moves
  // carry it, and close() and release() clear it (a socket made later, perhaps with the
  // same SOCKET value, starts with none). restrack's IOCP event loop notes its port at the
  // socket's first operation and then skips CreateIoCompletionPort for it. Safe to call
  // from any thread.
  void* completion_port() const noexcept {
    return completion_port_.load(std::memory_order_relaxed);
  }
  void note_completion_port(void* port) const noexcept {
    completion_port_.store(port, std::memory_order_relaxed);
  }

  // Closes the socket. Returns 0, or the WSAGetLastError() value of closesocket. Closing
  // again reports "closed twice" and returns WSAENOTSOCK; closing an empty socket returns
  // WSAENOTSOCK.
  int close() noexcept;

  // Gives up ownership without closing and returns the socket; the owner becomes empty
  // (not closed) and untracked.
  std::uintptr_t release() noexcept;

  // The text between < and > of a report for an open socket.
  static std::string describe(std::uintptr_t socket);

 private:
  void open_guard(const Kind& kind) noexcept;
  void take_guard(TrackedSocket& other) noexcept;
  // closesocket, or CloseHandle for a HANDLE; 0 or the error.
  int close_now(std::uintptr_t socket) const noexcept;

  std::uintptr_t socket_ = invalid;
  bool holds_handle_ = false;
  mutable std::atomic<void*> completion_port_{nullptr};
#if RESTRACK_TRACKING
  // The socket value after close, for the text of a misuse report.
  std::uintptr_t closed_socket_ = invalid;
#endif
  [[no_unique_address]] ResourceGuard guard_;
};

RESTRACK_NAMESPACE_END

#endif  // _WIN32
