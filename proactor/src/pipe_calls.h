// Internal: the platform's side of named pipes (posix/pipe_posix.cc: AF_UNIX stream sockets
// at a filesystem path; iocp/ on Windows: named pipe instances).
#pragma once

#include <cstdint>
#include <string>

#include "restrack/config.h"
#include "restrack/proactor/socket.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// A listening pipe and what identifies the name it created, so that close removes the
// name only while it is still ours.
struct PipeListener {
  Socket socket;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

// Listens on the pipe `name` (rule 14). A name left by a server that is gone (nobody
// accepts on it) is replaced; one that is being served throws PipeNameInUseError; other
// failures throw std::system_error naming the pipe.
PipeListener listen_on_pipe(const std::string& name, int backlog);

// Removes the name if it still is the one `listener` created.
void release_pipe_name(const std::string& name, std::uint64_t device, std::uint64_t inode) noexcept;

// The address to connect to, and a new non-blocking, close-on-exec socket of kind `pipe`
// to connect with (rule 18: never a blocking one).
SocketAddress pipe_address(const std::string& name);
Socket open_pipe_socket();

// The error a connect to a busy server gives (rule 17): EAGAIN on Linux.
bool is_pipe_busy(int error) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
