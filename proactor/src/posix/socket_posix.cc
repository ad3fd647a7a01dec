// The POSIX side of restrack/proactor/socket.h: addresses, creating, binding and
// describing sockets. The awaitables themselves are portable (socket.cc).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
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

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept
    : length_(std::min<socklen_t>(length, sizeof storage_)) {
  std::memcpy(&storage_, address, length_);
}

SocketAddress SocketAddress::ipv4(const std::string& host, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("not a numeric IPv4 address: " + host);
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

SocketAddress SocketAddress::ipv6(const std::string& host, std::uint16_t port) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, host.c_str(), &address.sin6_addr) != 1) {
    throw std::invalid_argument("not a numeric IPv6 address: " + host);
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

SocketAddress SocketAddress::unix_path(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) {
    throw std::invalid_argument("AF_UNIX path too long: " + path);
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address),
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
}

std::uint16_t SocketAddress::port() const noexcept {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string SocketAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                  sizeof text);
      return std::string(text) + ":" + std::to_string(port());
    case AF_INET6:
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                  sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(port());
    case AF_UNIX:
      return "unix " + std::string(reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path);
    default:
      return "family " + std::to_string(family());
  }
}

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

void close_socket(NativeSocket socket) noexcept { ::close(socket); }

void shutdown_socket(NativeSocket socket, ShutdownHow how) noexcept {
  static_cast<void>(::shutdown(socket, how == ShutdownHow::write ? SHUT_WR : SHUT_RDWR));
}

SocketAddress peer_address(NativeSocket socket) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getpeername(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

SocketAddress socket_address(NativeSocket socket) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
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

}  // namespace internal
RESTRACK_NAMESPACE_END
