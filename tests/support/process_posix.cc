#include "support/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace {

class CaptureFile {
 public:
  CaptureFile() {
    const char* tmpdir = std::getenv("TMPDIR");
    path_ = std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/restrack_child_XXXXXX";
    // Close-on-exec: the child gets only the descriptors it is given, so the
    // descriptor numbers in its reports do not depend on the driver.
    fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("mkstemp failed for " + path_);
  }
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;
  ~CaptureFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  std::string contents() const {
    std::ifstream file(path_, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

bool inherited(std::string_view variable) {
  return !variable.starts_with("GTEST_") && !variable.starts_with("RESTRACK_") &&
         !variable.starts_with("NO_COLOR=");
}

}  // namespace

ProcessResult run_process(const std::string& program, const std::vector<std::string>& arguments,
                          const std::vector<std::string>& environment) {
  std::vector<std::string> argv_text{program};
  argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  argv.reserve(argv_text.size() + 1);
  for (std::string& argument : argv_text) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> envp_text;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (inherited(*variable)) envp_text.emplace_back(*variable);
  }
  envp_text.insert(envp_text.end(), environment.begin(), environment.end());
  std::vector<char*> envp;
  envp.reserve(envp_text.size() + 1);
  for (std::string& variable : envp_text) envp.push_back(variable.data());
  envp.push_back(nullptr);

  const CaptureFile out;
  const CaptureFile err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.fd(), STDERR_FILENO);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) throw std::runtime_error("cannot run " + program);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed for " + program);
  }
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = out.contents();
  result.err = err.contents();
  return result;
}
