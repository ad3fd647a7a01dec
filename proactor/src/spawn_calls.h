// Internal: the platform's side of subprocesses (posix/spawn_posix.cc: posix_spawn and a
// pidfd; iocp/ on Windows: CreateProcess and a process handle).
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
// backend (the pidfd; OperationType::wait_process), and the parent's ends of the pipes
// (non-blocking, close-on-exec, kind `pipe`) for the descriptors that are Stdio::pipe.
struct SpawnedChild {
  int pid = -1;
  NativeSocket process_handle = kInvalidSocket;
  std::array<Socket, 3> pipes;
};

// Starts argv[0] (searched in PATH without a '/') with `options`. Throws
// std::invalid_argument for an empty argv and std::system_error naming the program or the
// working directory; nothing is left behind then (no pipe, no child).
SpawnedChild spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options);

// The exit status of the child behind `process_handle` if it has exited (reaping it): the
// exit code, or -N after signal N. Empty while it runs.
std::optional<int> try_reap(NativeSocket process_handle) noexcept;
// Waits for the child to exit and reaps it (used after SIGKILL only).
int reap(NativeSocket process_handle) noexcept;
// Sends `signal` to the child; returns 0 or the errno value.
int signal_process(NativeSocket process_handle, int signal) noexcept;
void close_process_handle(NativeSocket process_handle) noexcept;

inline constexpr int kSignalTerminate = 15;  // SIGTERM
inline constexpr int kSignalKill = 9;        // SIGKILL

}  // namespace internal
RESTRACK_NAMESPACE_END
