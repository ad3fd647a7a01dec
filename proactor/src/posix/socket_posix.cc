// The POSIX side of restrack/proactor/socket.h: addresses, creating, binding and
// describing sockets. The awaitables themselves are portable (socket.cc).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "restrack/kind.h"
#include "restrack/proactor/socket.h"
#include "socket_calls.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

}  // namespace

Socket open_socket(int family, int type, int protocol) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw_errno("socket");
  return Socket(fd, kinds::socket);
}

Socket listen_on(const SocketAddress& address, int backlog) {
  Socket listener = open_socket(address.family(), SOCK_STREAM);
  const int fd = listener.get();
  const int one = 1;
  if ((address.family() != AF_UNIX &&
       ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ||
      ::bind(fd, address.get(), address.length()) != 0 || ::listen(fd, backlog) != 0) {
    const int error = errno;
    listener.close();
    throw std::system_error(error, std::system_category(), "listen on " + address.to_string());
  }
  return listener;
}

SocketAddress local_address(const Socket& socket) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_errno("getsockname");
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

namespace internal {

std::string handle_text(NativeSocket socket) { return "fd=" + std::to_string(socket); }

void close_socket(NativeSocket socket) noexcept { ::close(socket); }

StreamOperations stream_operations(const Socket&) noexcept {
  return {OperationType::recv, OperationType::send};
}

void shutdown_socket(NativeSocket socket, ShutdownHow how) noexcept {
  static_cast<void>(::shutdown(socket, how == ShutdownHow::write ? SHUT_WR : SHUT_RDWR));
}

std::size_t send_now(NativeSocket socket, std::string_view data) noexcept {
  const ssize_t sent = ::send(socket, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  return sent > 0 ? static_cast<std::size_t>(sent) : 0;
}

std::size_t receive_now(NativeSocket socket, char* buffer, std::size_t size) noexcept {
  const ssize_t received = ::recv(socket, buffer, size, MSG_DONTWAIT);
  return received > 0 ? static_cast<std::size_t>(received) : 0;
}

void bind_datagram(const Socket& socket, const SocketAddress& local,
                   const std::optional<SocketAddress>& remote) {
  if (::bind(socket.get(), local.get(), local.length()) != 0) {
    throw std::system_error(errno, std::system_category(),
                            "bind datagram endpoint to " + local.to_string());
  }
  if (remote && ::connect(socket.get(), remote->get(), remote->length()) != 0) {
    throw std::system_error(errno, std::system_category(),
                            "connect datagram endpoint to " + remote->to_string());
  }
}

void set_no_delay(NativeSocket socket) noexcept {
  const int one = 1;
  static_cast<void>(::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
}

// accept(2) passes on the pending network errors of the new socket.
bool is_per_connection_error(int error) noexcept {
  switch (error) {
    case ECONNABORTED:
    case ECONNRESET:
    case EPROTO:
    case EPERM:
    case EAGAIN:
    case EINTR:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

bool is_connection_reset(int error) noexcept {
  switch (error) {
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ESHUTDOWN:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
