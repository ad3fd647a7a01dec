#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <string>

#include <gtest/gtest.h>

#include "restrack/kind.h"
#include "test_platform.h"

namespace restrack_test {

void make_socket_pair(int type, restrack::Socket& first, restrack::Socket& second) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    ADD_FAILURE() << "socketpair failed";
    return;
  }
  first = restrack::TrackedFd(fds[0], restrack::kinds::socket);
  second = restrack::TrackedFd(fds[1], restrack::kinds::socket);
}

bool is_nonblocking(restrack::NativeSocket handle) {
  const int flags = ::fcntl(handle, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

restrack::NativeSocket open_unowned_socket() {
  return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

const char* const kTcpSocketDescription = R"(tcp fd=\d+)";

bool is_closed(restrack::NativeSocket handle) {
  return ::fcntl(handle, F_GETFD) == -1 && errno == EBADF;
}

int open_descriptor_count() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count - 1;  // the directory itself
}

std::string test_child_path() {
  char path[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path);
  if (length <= 0) return "restrack_test_child";
  const std::string self(path, static_cast<std::size_t>(length));
  return self.substr(0, self.rfind('/') + 1) + "restrack_test_child";
}

bool no_child_left() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == -1 && errno == ECHILD;
}

bool wait_for_exit(restrack::NativeSocket process_handle) {
  pollfd exited{process_handle, POLLIN, 0};
  return ::poll(&exited, 1, 10'000) == 1;
}

const int kNoSuchProgramError = ENOENT;
const int kNoSuchDirectoryError = ENOENT;
std::string no_such_program_text() { return "No such file or directory"; }
std::string no_such_directory_text() { return "No such file or directory"; }

std::string unique_pipe_name(const std::string& stem) {
  static std::atomic<int> counter{0};
  return "/tmp/restrack-pipe-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + "-" + stem;
}

}  // namespace restrack_test
