// Subprocesses on Linux: posix_spawn (glibc spawns with CLONE_VFORK: no fork, so no copy of
// another thread's half-taken locks), then pidfd_open; the exit is learnt by polling the
// pidfd through io_uring and the child is reaped with waitid(P_PIDFD) — never through
// SIGCHLD or waitpid(-1), which would take other code's children.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "restrack/kind.h"
#include "spawn_calls.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

// Closes what a failed spawn opened; a descriptor per slot, -1 when unused.
struct SpawnResources {
  std::array<int, 3> parent{-1, -1, -1};
  std::array<int, 3> child{-1, -1, -1};
  ~SpawnResources() {
    for (int fd : parent) {
      if (fd >= 0) ::close(fd);
    }
    for (int fd : child) {
      if (fd >= 0) ::close(fd);
    }
  }
};

// posix_spawn_file_actions_t and posix_spawnattr_t, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

[[noreturn]] void throw_spawn_error(int error, const std::string& what) {
  throw std::system_error(error, std::system_category(), "subprocess_exec: " + what);
}

}  // namespace

SpawnedChild spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options) {
  const std::string& program = argv.front();
  if (!options.cwd.empty()) {
    struct stat info {};
    if (::stat(options.cwd.c_str(), &info) != 0) {
      throw_spawn_error(errno, "working directory " + options.cwd);
    }
    if (!S_ISDIR(info.st_mode)) throw_spawn_error(ENOTDIR, "working directory " + options.cwd);
  }

  SpawnResources resources;
  SpawnSetup setup;
  const Stdio modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
  for (int fd = 0; fd < 3; ++fd) {
    switch (modes[fd]) {
      case Stdio::pipe: {
        // A socket pair: close-on-exec on both ends; the child's end becomes its fd (dup2
        // clears close-on-exec there) and stays blocking, as programs expect of stdio.
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
          throw_spawn_error(errno, "socketpair for fd " + std::to_string(fd));
        }
        resources.parent[fd] = pair[0];
        resources.child[fd] = pair[1];
        const int flags = ::fcntl(pair[0], F_GETFL);
        if (flags < 0 || ::fcntl(pair[0], F_SETFL, flags | O_NONBLOCK) != 0) {
          throw_spawn_error(errno, "non-blocking pipe");
        }
        posix_spawn_file_actions_adddup2(&setup.actions, pair[1], fd);
        break;
      }
      case Stdio::devnull:
        posix_spawn_file_actions_addopen(&setup.actions, fd, "/dev/null",
                                         fd == 0 ? O_RDONLY : O_WRONLY, 0);
        break;
      case Stdio::same_as_stdout:
        posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
        break;
      case Stdio::inherit:
        break;
    }
  }
  if (!options.cwd.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd.c_str());
  // The child starts with no signal blocked and SIGPIPE at its default (servers often
  // ignore it; children expect the default).
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> arguments;
  arguments.reserve(argv.size() + 1);
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  std::vector<char*> environment;
  if (options.env) {
    for (const std::string& entry : *options.env)
      environment.push_back(const_cast<char*>(entry.c_str()));
    environment.push_back(nullptr);
  }
  pid_t pid = -1;
  // glibc reports a failed exec (or chdir) as posix_spawn's result, and reaps that child.
  const int error = ::posix_spawnp(&pid, program.c_str(), &setup.actions, &setup.attributes,
                                   arguments.data(), options.env ? environment.data() : environ);
  if (error != 0) throw_spawn_error(error, "cannot run " + program);

  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int open_error = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw_spawn_error(open_error, "pidfd_open for " + program + " (Linux 5.3 or later is needed)");
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);

  SpawnedChild child;
  child.pid = pid;
  child.process_handle = pidfd;
  for (int fd = 0; fd < 3; ++fd) {
    if (resources.parent[fd] >= 0) {
      child.pipes[static_cast<std::size_t>(fd)] =
          Socket(std::exchange(resources.parent[fd], -1), kinds::pipe);
    }
  }
  return child;  // the child's ends are closed with `resources`
}

std::optional<int> try_reap(NativeSocket process_handle) noexcept {
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(process_handle), &info,
               WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0) {
    return std::nullopt;
  }
  return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
}

int reap(NativeSocket process_handle) noexcept {
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(process_handle), &info,
                  WEXITED) != 0) {
    if (errno != EINTR) return -1;
  }
  return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
}

int signal_process(NativeSocket process_handle, int signal) noexcept {
  if (::syscall(SYS_pidfd_send_signal, process_handle, signal, nullptr, 0) != 0) return -errno;
  return 0;
}

void close_process_handle(NativeSocket process_handle) noexcept { ::close(process_handle); }

}  // namespace internal
RESTRACK_NAMESPACE_END
