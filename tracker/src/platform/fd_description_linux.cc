#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstring>

#include "fd_description.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

std::string address_text(const sockaddr_storage& address, socklen_t length) {
  char host[INET6_ADDRSTRLEN] = {};
  switch (address.ss_family) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
      return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
      return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
    }
    case AF_UNIX: {
      const auto& un = reinterpret_cast<const sockaddr_un&>(address);
      const auto path_length = static_cast<std::size_t>(length) - offsetof(sockaddr_un, sun_path);
      if (length <= offsetof(sockaddr_un, sun_path) || path_length == 0) return {};
      if (un.sun_path[0] == '\0') {
        return "@" + std::string(un.sun_path + 1, path_length - 1);  // abstract name
      }
      return std::string(un.sun_path, strnlen(un.sun_path, path_length));
    }
    default:
      return {};
  }
}

// "tcp fd=7 127.0.0.1:40312->127.0.0.1:8080"; empty if `fd` is not a socket.
std::string socket_text(int fd) {
  int type = 0;
  socklen_t type_length = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0) return {};
  sockaddr_storage local{};
  socklen_t local_length = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) return {};
  std::string protocol;
  switch (local.ss_family) {
    case AF_INET:
    case AF_INET6:
      protocol = type == SOCK_DGRAM ? "udp" : "tcp";
      if (local.ss_family == AF_INET6) protocol += "6";
      break;
    case AF_UNIX:
      protocol = type == SOCK_DGRAM ? "unix-dgram" : "unix";
      break;
    default:
      protocol = "socket";
  }
  std::string text = protocol + " fd=" + std::to_string(fd);
  const std::string local_text = address_text(local, local_length);
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  const bool connected = getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0;
  const std::string peer_text = connected ? address_text(peer, peer_length) : std::string();
  if (!local_text.empty() || !peer_text.empty()) {
    text += " " + local_text;
    if (!peer_text.empty()) text += "->" + peer_text;
  }
  return text;
}

}  // namespace

std::string describe_fd(int fd) {
  if (fd >= 0) {
    std::string socket = socket_text(fd);
    if (!socket.empty()) return socket;
  }
  std::string text = "fd=" + std::to_string(fd);
  if (fd < 0) return text;
  char target[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n > 0) text.append(" ").append(target, static_cast<std::size_t>(n));
  return text;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
