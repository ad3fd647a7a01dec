// The Windows side of restrack/proactor/socket.h: addresses, creating and binding Winsock
// sockets (their owner, restrack::TrackedSocket, is the tracker's). The awaitables themselves are portable
// (socket.cc); their kernel requests are the IOCP backend's (iocp/).
#include "restrack/proactor/socket.h"

// After <winsock2.h> (through socket.h), which defines what it uses.
#include <afunix.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "restrack/kind.h"
#include "socket_calls.h"
#include "winsock_runtime.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

[[noreturn]] void throw_wsa(const char* what) {
  throw std::system_error(::WSAGetLastError(), std::system_category(), what);
}

}  // namespace

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept
    : length_(std::min<socklen_t>(length, sizeof storage_)) {
  std::memcpy(&storage_, address, static_cast<std::size_t>(length_));
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
  internal::winsock_runtime();
  // Overlapped (every request goes through the completion port, rule 18) and not
  // inherited by child processes.
  const SOCKET socket = ::WSASocketW(family, type, protocol, nullptr, 0,
                                     WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (socket == INVALID_SOCKET) throw_wsa("WSASocket");
  Socket owned(socket, kinds::socket);
  if (type == SOCK_DGRAM) {
    // Windows fails the next receive of a UDP socket with WSAECONNRESET after one of its
    // datagrams met a closed port (an ICMP "port unreachable"); Linux reports nothing on an
    // unconnected socket. Turned off, so sock_recvfrom behaves the same on both.
    BOOL report = FALSE;
    DWORD bytes = 0;
    if (::WSAIoctl(socket, SIO_UDP_CONNRESET, &report, sizeof report, nullptr, 0, &bytes, nullptr,
                   nullptr) != 0) {
      const int error = ::WSAGetLastError();
      owned.close();
      throw std::system_error(error, std::system_category(), "WSAIoctl(SIO_UDP_CONNRESET)");
    }
  }
  return owned;
}

Socket listen_on(const SocketAddress& address, int backlog) {
  Socket listener = open_socket(address.family(), SOCK_STREAM);
  const SOCKET socket = listener.get();
  // SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows the latter lets a second process
  // bind the same port and steal connections; the former keeps the port ours, which is
  // what SO_REUSEADDR gives on Linux for a listener.
  const BOOL one = TRUE;
  if ((address.family() != AF_UNIX &&
       ::setsockopt(socket, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one),
                    sizeof one) != 0) ||
      ::bind(socket, address.get(), address.length()) != 0 || ::listen(socket, backlog) != 0) {
    const int error = ::WSAGetLastError();
    listener.close();
    throw std::system_error(error, std::system_category(), "listen on " + address.to_string());
  }
  return listener;
}

SocketAddress local_address(const Socket& socket) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_wsa("getsockname");
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

namespace internal {

void close_socket(NativeSocket socket) noexcept { ::closesocket(socket); }

void shutdown_socket(NativeSocket socket, ShutdownHow how) noexcept {
  static_cast<void>(::shutdown(socket, how == ShutdownHow::write ? SD_SEND : SD_BOTH));
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
    throw std::system_error(::WSAGetLastError(), std::system_category(),
                            "bind datagram endpoint to " + local.to_string());
  }
  if (remote && ::connect(socket.get(), remote->get(), remote->length()) != 0) {
    throw std::system_error(::WSAGetLastError(), std::system_category(),
                            "connect datagram endpoint to " + remote->to_string());
  }
}

void set_no_delay(NativeSocket socket) noexcept {
  const BOOL one = TRUE;
  static_cast<void>(::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY,
                                 reinterpret_cast<const char*>(&one), sizeof one));
}

}  // namespace internal
RESTRACK_NAMESPACE_END
