// restrack/proactor/socket.h — socket operations as awaitables on tracked sockets.
//
// Sockets are restrack::Socket handles (a TrackedFd of kind `socket` on POSIX): a socket
// destroyed without close() reports "unclosed socket" with the trace of its creation. The
// operations take the loop and the socket and return a future to co_await from a task, in
// the manner of asyncio's loop.sock_*() methods:
//
//   restrack::Socket client = restrack::open_socket(AF_INET, SOCK_STREAM);
//   co_await restrack::sock_connect(loop, client, restrack::SocketAddress::ipv4("127.0.0.1",
//   8080)); co_await restrack::sock_sendall(loop, client, "ping"); std::string reply = co_await
//   restrack::sock_recv(loop, client, 4096);
//
// Each call submits one operation that the backend owns until the kernel's completion is
// reaped (rule 1): the data to send is copied into it, received data lands in its own
// buffer. Cancelling the future (or the task awaiting it) asks the kernel to stop and
// discards whatever the operation still produces (rule 4); an accepted connection that
// arrives after that is closed, never leaked. Errors throw std::system_error with the OS
// error value. The socket must stay open until its operations are done: closing a
// descriptor does not stop io_uring requests on it (rule 8).
//
// On Windows a Socket may also own the end of an overlapped named pipe
// (TrackedSocket::from_handle): sock_recv, sock_recv_into and sock_sendall then read and
// write it with ReadFile and WriteFile; end-of-file is the writer gone (ERROR_BROKEN_PIPE),
// and sending to a pipe whose reader is gone fails with EPIPE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/socket_platform.h"

RESTRACK_NAMESPACE_BEGIN

// A socket address of any family (IPv4, IPv6, AF_UNIX).
class SocketAddress {
 public:
  SocketAddress() noexcept = default;
  // Copies `length` bytes of `address` (at most sizeof(sockaddr_storage)).
  SocketAddress(const sockaddr* address, socklen_t length) noexcept;

  // Numeric addresses only ("127.0.0.1", "::1"); throws std::invalid_argument otherwise.
  static SocketAddress ipv4(const std::string& host, std::uint16_t port);
  static SocketAddress ipv6(const std::string& host, std::uint16_t port);
  // A filesystem AF_UNIX address; throws std::invalid_argument if the path is too long.
  static SocketAddress unix_path(const std::string& path);

  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;  // 0 for AF_UNIX
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const noexcept { return length_; }

  // "127.0.0.1:8080", "[::1]:8080", "unix /run/x.sock".
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

// A new non-blocking, close-on-exec socket tracked as kind `socket` (rule 18: io_uring is
// never handed a blocking socket). Throws std::system_error.
Socket open_socket(int family, int type, int protocol = 0);

// open_socket() + SO_REUSEADDR (IP families) + bind + listen. Throws std::system_error.
Socket listen_on(const SocketAddress& address, int backlog = SOMAXCONN);

// The address the socket is bound to (getsockname). Throws std::system_error.
SocketAddress local_address(const Socket& socket);

// Accepts one connection: a new tracked socket (non-blocking, close-on-exec).
Future<Socket> sock_accept(EventLoop& loop, const Socket& listener);

// Connects `socket` to `address`.
Future<void> sock_connect(EventLoop& loop, const Socket& socket, const SocketAddress& address);

// Receives up to `max_bytes`; an empty string is end-of-file.
Future<std::string> sock_recv(EventLoop& loop, const Socket& socket, std::size_t max_bytes);

// Receives up to buffer.size() bytes into `buffer` and returns the count (0: end-of-file).
// The kernel writes into the operation's own buffer, copied into `buffer` only when the
// future completes, so `buffer` need only outlive the future being done or cancelled.
Future<std::size_t> sock_recv_into(EventLoop& loop, const Socket& socket, std::span<char> buffer);

// Sends all of `data`, resubmitting the remainder after a short send (rules 8 and 26).
Future<void> sock_sendall(EventLoop& loop, const Socket& socket, std::string_view data);

// Sends one datagram to `address`; returns the bytes sent.
Future<std::size_t> sock_sendto(EventLoop& loop, const Socket& socket, std::string_view data,
                                const SocketAddress& address);

// One received datagram and its sender.
struct Datagram {
  std::string data;
  SocketAddress sender;
};

// Receives one datagram of up to `max_bytes` (longer ones are truncated).
Future<Datagram> sock_recvfrom(EventLoop& loop, const Socket& socket, std::size_t max_bytes);

RESTRACK_NAMESPACE_END
