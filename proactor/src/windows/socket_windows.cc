// The Windows side of restrack/proactor/socket.h: creating and binding Winsock sockets
// (their owner, restrack::TrackedSocket, is the tracker's; their addresses are portable,
// socket_address.cc). The awaitables themselves are portable (socket.cc); their kernel
// requests are the IOCP backend's (iocp/).
#include "restrack/proactor/socket.h"

// After <winsock2.h> (through socket.h), which defines what it uses.
#include <afunix.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "restrack/kind.h"
#include "result_error.h"
#include "socket_calls.h"
#include "winsock_runtime.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

[[noreturn]] void throw_wsa(const char* what) {
  throw std::system_error(::WSAGetLastError(), std::system_category(), what);
}

}  // namespace

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

std::string handle_text(NativeSocket socket) {
  char text[32];
  std::snprintf(text, sizeof text, "handle=0x%llx", static_cast<unsigned long long>(socket));
  return text;
}

void close_socket(NativeSocket socket) noexcept { ::closesocket(socket); }

StreamOperations stream_operations(const Socket& socket) noexcept {
  if (socket.holds_handle()) return {OperationType::read, OperationType::write};
  return {OperationType::recv, OperationType::send};
}

void shutdown_socket(NativeSocket socket, ShutdownHow how) noexcept {
  static_cast<void>(::shutdown(socket, how == ShutdownHow::write ? SD_SEND : SD_BOTH));
}

std::size_t send_now(NativeSocket, std::string_view) noexcept { return 0; }
std::size_t receive_now(NativeSocket, char*, std::size_t) noexcept { return 0; }

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

// A completed AcceptEx reports the network errors of the connection it took: a client
// that reset before the accept completed is ERROR_NETNAME_DELETED, which the backend
// delivers as ECONNRESET, WSAENETDOWN as ENETDOWN and WSAENETRESET as ENETRESET
// (winsock_runtime.cc); WSAEHOSTDOWN has no errno twin in mingw-w64 and comes offset by
// kWindowsErrorBase.
bool is_per_connection_error(int error) noexcept {
  switch (error) {
    case ECONNABORTED:
    case ECONNRESET:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENETRESET:
    case kWindowsErrorBase + WSAEHOSTDOWN:
      return true;
    default:
      return false;
  }
}

// WSAESHUTDOWN arrives as EPIPE, ERROR_NETNAME_DELETED as ECONNRESET, ERROR_SEM_TIMEOUT as
// ETIMEDOUT and WSAENETRESET (keep-alive failed) as ENETRESET (winsock_runtime.cc).
bool is_connection_reset(int error) noexcept {
  switch (error) {
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ETIMEDOUT:
    case ENETRESET:
      return true;
    default:
      return false;
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
