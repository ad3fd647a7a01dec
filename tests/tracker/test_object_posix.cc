// POSIX implementation of test_object.h: socketpair ends, described by restrack as
// "unix fd=N".
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_object.h"

namespace restrack_test {

int open_test_object() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return -1;
  ::close(fds[1]);
  return fds[0];
}

std::string description_of(int fd) { return "unix fd=" + std::to_string(fd); }

std::string description_prefix() { return "unix fd="; }

std::string description_regex() { return "unix fd=[0-9]+"; }

namespace {

std::string identity(const struct stat& info) {
  return std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

}  // namespace

std::string identity_of(int fd) {
  struct stat info {};
  return ::fstat(fd, &info) == 0 ? identity(info) : std::string();
}

std::string identity_of_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? identity(info) : std::string();
}

std::string exit_location(const std::string&) { return "<exit>"; }

void close_descriptor(int fd) { ::close(fd); }

int process_id() { return static_cast<int>(::getpid()); }

}  // namespace restrack_test
