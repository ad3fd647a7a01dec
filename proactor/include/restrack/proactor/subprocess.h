// restrack/proactor/subprocess.h — child processes with their standard pipes on the loop.
//
//   class Collect final : public restrack::SubprocessProtocol {
//     void pipe_data_received(int fd, std::string_view data) override { output += data; }
//     void process_exited() override { ... }
//     std::string output;
//   };
//   auto protocol = std::make_shared<Collect>();
//   std::shared_ptr<restrack::SubprocessTransport> child = co_await restrack::subprocess_exec(
//       loop, [&] { return protocol; }, {"/bin/echo", "hello"});
//   int status = co_await child->wait();
//   child->close();
//
// Spawning: posix_spawn (no fork, so no window where another thread's locks are copied
// half-taken), then pidfd_open; the exit is learnt from the pidfd through the loop's
// backend, never from SIGCHLD, so other code's children are left alone. Every child is
// reaped. Pipes are non-blocking, close-on-exec AF_UNIX stream socket pairs on Linux (a
// child sees an ordinary byte stream; the parent's ends work with the socket operations).
//
// On Windows: CreateProcessW. argv becomes one command line, quoted by the rules the C
// runtime and CommandLineToArgvW split it by, so that every argument (UTF-8, empty, with
// blanks, quotes or backslashes) arrives as given; argv[0] cannot hold a quote. A program
// name without '/', '\' or ':' is searched in the directories of PATH only (not first in
// the parent's directory or the working directory, as CreateProcess would), and ".exe" is
// tried too when the name has no extension. Only the child's three standard handles are
// inherited. Stdio::pipe is a named pipe of a unique name (the parent's end overlapped, on
// the loop's completion port; the child's an ordinary handle), devnull is NUL, inherit a
// copy of the parent's standard handle. The exit is learnt through a wait on the process
// handle. Windows has no signals: send_signal takes SIGTERM (15) and SIGKILL (9) only
// (others throw std::system_error, ERROR_NOT_SUPPORTED), both end the child with
// TerminateProcess (exit code 1, what others see), and returncode() then says -15 or -9, as
// on Linux. An `env` replaces the whole environment: Windows programs often need at least
// SYSTEMROOT in it.
//
// Order of callbacks (rules 28-30): connection_made first; pipe_data_received and
// pipe_connection_lost for each pipe (a pipe's data before its lost call) and
// process_exited as they happen; connection_lost once, after the process has exited and
// every pipe is closed. What happens before connection_made — a child that exits at once —
// is queued and replayed after it. wait() always completes, even when setup fails.
//
// A subprocess transport is a tracked resource of kind `subprocess`, described as
// `<subprocess pid=4242 running /bin/sleep>` (then `exited 0`, `killed by signal 9`).
// Destroyed without close(), it reports "unclosed subprocess", then kills the child with
// SIGKILL and reaps it (section F). close() is idempotent (rule 31): it closes the pipes and
// kills the child only if it is still running.
//
// asyncio names: loop.subprocess_exec → subprocess_exec; SubprocessTransport.get_pid,
// get_returncode, get_pipe_transport, send_signal, terminate, kill, close →
// pid, returncode, pipe_transport, send_signal, terminate, kill, close; asyncio.PIPE,
// DEVNULL, STDOUT, None → Stdio::pipe, devnull, same_as_stdout, inherit.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"

RESTRACK_NAMESPACE_BEGIN

// What one of the child's standard descriptors is connected to.
enum class Stdio {
  pipe,            // a pipe to the parent (a pipe transport)
  devnull,         // /dev/null (NUL on Windows)
  inherit,         // the parent's own descriptor (a copy of its standard handle on Windows)
  same_as_stdout,  // stderr only: wherever stdout goes
};

struct SubprocessOptions {
  Stdio stdin_mode = Stdio::pipe;
  Stdio stdout_mode = Stdio::pipe;
  Stdio stderr_mode = Stdio::pipe;
  // Working directory of the child; empty: the parent's.
  std::string cwd;
  // The child's environment as NAME=value entries; unset: the parent's.
  std::optional<std::vector<std::string>> env;
};

class SubprocessTransport {
 public:
  virtual ~SubprocessTransport() = default;

  virtual int pid() const noexcept = 0;
  // The exit status once the child has been reaped: the exit code, or -N when killed by
  // signal N (asyncio's convention). Empty while it runs.
  virtual std::optional<int> returncode() const noexcept = 0;
  // The transport of the pipe to the child's `fd` (0: write to its stdin; 1, 2: its
  // output), or null when that descriptor is not a pipe. Valid until connection_lost.
  virtual StreamTransport* pipe_transport(int fd) noexcept = 0;

  // Sends `signal`; does nothing once the child has been reaped (its pid may belong to
  // someone else by then). Throws std::system_error if the kernel refuses.
  virtual void send_signal(int signal) = 0;
  virtual void terminate() = 0;  // SIGTERM
  virtual void kill() = 0;       // SIGKILL

  // Closes the pipes and kills the child if it is still running (rule 31). Idempotent.
  virtual void close() = 0;
  virtual bool is_closing() const noexcept = 0;

  // Completes with returncode() once the child has exited. Each call gets its own
  // future; cancelling it affects nothing else (rule 30).
  virtual Future<int> wait() = 0;

  virtual SubprocessProtocol& protocol() const noexcept = 0;
};

using SubprocessProtocolFactory = std::function<std::shared_ptr<SubprocessProtocol>()>;

// Starts `argv` (argv[0] is searched in PATH when it has no '/'; on Windows, see above)
// and completes once connection_made has returned. The child is spawned here, at the call:
// an empty argv, a program that cannot be executed, or a working directory that does not
// exist throws std::system_error (std::invalid_argument for the empty argv) naming it
// (an errno value; a Windows error code on Windows), and leaves no pipe and no child
// behind. Setup failures after the spawn close the transport (killing
// the child) and rethrow (rule 31).
Task<std::shared_ptr<SubprocessTransport>> subprocess_exec(EventLoop& loop,
                                                           SubprocessProtocolFactory factory,
                                                           std::vector<std::string> argv,
                                                           const SubprocessOptions& options,
                                                           CallSite where = CallSite::current());
// The same with default options. (An overload rather than a default argument: GCC 12
// destroys a defaulted argument with a destructor twice inside a co_await expression.)
Task<std::shared_ptr<SubprocessTransport>> subprocess_exec(EventLoop& loop,
                                                           SubprocessProtocolFactory factory,
                                                           std::vector<std::string> argv,
                                                           CallSite where = CallSite::current());

RESTRACK_NAMESPACE_END
