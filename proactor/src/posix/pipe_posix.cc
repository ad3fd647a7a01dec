// Pipes on POSIX: an AF_UNIX stream socket bound to a filesystem path.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "pipe_calls.h"
#include "restrack/kind.h"
#include "restrack/proactor/pipe.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

[[noreturn]] void throw_pipe_error(int error, const std::string& name, const char* what) {
  throw std::system_error(error, std::system_category(),
                          "pipe server " + name + ": " + std::string(what));
}

enum class NameState { served, stale, gone };

// Someone owns the path. A socket that accepts connections (or whose backlog is full:
// EAGAIN) is served; one that refuses them was left by a server that is gone.
NameState probe(const std::string& name, const SocketAddress& address) {
  struct stat info {};
  if (::lstat(name.c_str(), &info) != 0) return NameState::gone;
  if (!S_ISSOCK(info.st_mode)) {
    throw_pipe_error(EADDRINUSE, name, "the path exists and is not a socket");
  }
  const int probe_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe_fd < 0) throw_pipe_error(errno, name, "socket for probing the name");
  const int result = ::connect(probe_fd, address.get(), address.length());
  const int error = errno;
  ::close(probe_fd);  // a probe that connects and leaves: the server survives it (rule 15)
  if (result == 0 || error == EAGAIN) return NameState::served;
  if (error == ECONNREFUSED) return NameState::stale;
  if (error == ENOENT) return NameState::gone;
  throw_pipe_error(error, name, "probing the name");
}

SocketAddress pipe_address(const std::string& name) { return SocketAddress::unix_path(name); }

// Removes the name if it still is the one a listener created (device and inode).
void release_pipe_name(const std::string& name, std::uint64_t device,
                       std::uint64_t inode) noexcept {
  struct stat info {};
  if (::lstat(name.c_str(), &info) != 0) return;
  // Another server may have taken the name over since (ours was stale to it).
  if (static_cast<std::uint64_t>(info.st_dev) != device ||
      static_cast<std::uint64_t>(info.st_ino) != inode) {
    return;
  }
  ::unlink(name.c_str());
}

}  // namespace

Socket open_pipe_socket() {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket for a pipe");
  return Socket(fd, kinds::pipe);
}

PipeConnectAttempt pipe_connect_attempt(const std::string& name) {
  return [address = pipe_address(name)](EventLoop& loop, SocketTransport& transport) {
    return sock_connect(loop, transport.socket(), address);
  };
}

bool is_pipe_busy(int error) noexcept { return error == EAGAIN; }

PipeListener listen_on_pipe(const std::string& name, int backlog) {
  const SocketAddress address = pipe_address(name);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_pipe_error(errno, name, "socket");
  PipeListener listener;
  listener.socket = Socket(fd, kinds::pipe);
  // Two tries: the second after removing a stale name.
  for (int attempt = 0;; ++attempt) {
    if (::bind(fd, address.get(), address.length()) == 0) break;
    const int error = errno;
    if (error != EADDRINUSE || attempt > 0) {
      listener.socket.close();
      throw_pipe_error(error, name, "bind");
    }
    NameState state = NameState::gone;
    try {
      state = probe(name, address);
    } catch (...) {
      listener.socket.close();
      throw;
    }
    if (state == NameState::served) {
      listener.socket.close();
      // Rule 14: the name belongs to the server that serves it.
      throw PipeNameInUseError("pipe server " + name + ": the name is already being served");
    }
    if (state == NameState::stale) ::unlink(name.c_str());
  }
  if (::listen(fd, backlog) != 0) {
    const int error = errno;
    ::unlink(name.c_str());
    listener.socket.close();
    throw_pipe_error(error, name, "listen");
  }
  struct stat info {};
  if (::stat(name.c_str(), &info) == 0) {
    listener.release = [name, device = static_cast<std::uint64_t>(info.st_dev),
                        inode = static_cast<std::uint64_t>(info.st_ino)] {
      release_pipe_name(name, device, inode);
    };
  }
  return listener;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
