// Internal: the platform's side of named pipes, under the portable pipe servers and
// connect_pipe of pipe.cc. posix/pipe_posix.cc: an AF_UNIX stream socket at a filesystem
// path, which listens and accepts. windows/pipe_windows.cc: a named pipe (\\.\pipe\name),
// whose instances each wait for one client (ConnectNamedPipe) and then are the connection.
#pragma once

#include <functional>
#include <string>

#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/socket.h"
#include "stream_transport.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// What a pipe server serves from.
struct PipeListener {
  // POSIX: the listening socket, from which each accept gives a new connection. Windows:
  // the free pipe instance, which becomes the connection once a client connects to it.
  Socket socket;
  // Windows: makes the next free instance of the name, which replaces `socket` before the
  // connected one is handed out (rule 14: the name always has a free instance while the
  // server is open). Throws std::system_error naming the pipe. Null on POSIX.
  std::function<Socket()> next_instance;
  // Run when the server closes, after `socket` is closed. POSIX: removes the name if it
  // still is the one this listener created. Null on Windows: a named pipe goes with its
  // last instance.
  std::function<void()> release;
};

// Starts serving the pipe `name` (rule 14). A name that another server serves throws
// PipeNameInUseError (POSIX: a socket that accepts connections; Windows: a pipe that exists,
// refused by FILE_FLAG_FIRST_PIPE_INSTANCE). POSIX replaces a socket file left by a server
// that is gone. Other failures throw std::system_error naming the pipe. `backlog` is the
// listen backlog on POSIX; Windows has none (instances are made one at a time).
PipeListener listen_on_pipe(const std::string& name, int backlog);

// The socket connect_pipe's transport is created with. POSIX: a new non-blocking,
// close-on-exec AF_UNIX socket of kind `pipe` (rule 18: never a blocking one). Windows: an
// empty one, since a named pipe's handle only exists once CreateFile has connected it.
Socket open_pipe_socket();

// One attempt to connect a transport made with open_pipe_socket() to the pipe, never
// blocking (rule 18). Its future completes once connected, or fails with std::system_error:
// is_pipe_busy() says the server was busy and the attempt may be repeated (rule 17).
using PipeConnectAttempt = std::function<Future<void>(EventLoop&, SocketTransport&)>;

// The attempt for the pipe `name`, checked at once. POSIX: a connect operation on the
// transport's socket (std::invalid_argument now for a path too long for AF_UNIX). Windows:
// CreateFile with FILE_FLAG_OVERLAPPED, done by the time it returns; the opened handle is
// given to the transport (SocketTransport::attach). Errors are errno values where the
// portable code tests one: ENOENT (no such pipe) on both.
PipeConnectAttempt pipe_connect_attempt(const std::string& name);

// The error of a connect to a busy server (rule 17): EAGAIN (a full listen backlog) on
// POSIX, ERROR_PIPE_BUSY (every instance connected) on Windows.
bool is_pipe_busy(int error) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
