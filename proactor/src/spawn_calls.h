// Internal: the platform's side of subprocesses (posix/spawn_posix.cc: posix_spawn and a
// pidfd; windows/spawn_windows.cc: CreateProcessW and a process handle).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/subprocess.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// What spawn_process() created: the child, a handle that tells its exit to the loop's
// backend (the pidfd, or the process HANDLE; OperationType::wait_process), and the
// parent's ends of the pipes (kind `pipe`; non-blocking and close-on-exec on Linux,
// overlapped and not inheritable on Windows) for the descriptors that are Stdio::pipe.
struct SpawnedChild {
  int pid = -1;
  NativeSocket process_handle = kInvalidSocket;
  std::array<Socket, 3> pipes;
};

// Starts argv[0] (searched in PATH without a '/'; on Windows without a '/', '\' or ':',
// and with ".exe" tried too when it has no extension) with `options`, which the caller
// has checked (a non-empty argv; same_as_stdout for stderr only). Throws
// std::system_error (an errno value, or a Windows error code) naming the program or the
// working directory; nothing is left behind then (no pipe, no child).
SpawnedChild spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options);

// The exit status of the child behind `process_handle` if it has exited (reaping it): the
// exit code, or -N after signal N (on Windows: after signal_process(N) ended it). Empty
// while it runs.
std::optional<int> try_reap(NativeSocket process_handle) noexcept;
// Waits for the child to exit and reaps it (used after SIGKILL only).
int reap(NativeSocket process_handle) noexcept;
// Sends `signal` to the child; returns 0 or a failed result (result_error.h: -errno; on
// Windows, where only kSignalTerminate and kSignalKill exist and both are
// TerminateProcess, a Windows error). Does nothing to a child that has exited.
int signal_process(NativeSocket process_handle, int signal) noexcept;
void close_process_handle(NativeSocket process_handle) noexcept;

inline constexpr int kSignalTerminate = 15;  // SIGTERM
inline constexpr int kSignalKill = 9;        // SIGKILL

}  // namespace internal
RESTRACK_NAMESPACE_END
