// A TrackedFd whose descriptor other code closes behind its back — by close(2), by
// fclose(3) of a stream opened over it, and by dup2(2) onto it. Run under restrack-run by
// tests/run; argv[1] picks the way.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "restrack/tracked_fd.h"

namespace {

restrack::TrackedFd open_log() { return restrack::TrackedFd(::open("/dev/null", O_WRONLY)); }

// Third-party code that believes the descriptor is its own.
void legacy_shutdown(int fd) { ::close(fd); }

void legacy_stream_shutdown(int fd) {
  FILE* stream = ::fdopen(fd, "w");
  std::fclose(stream);
}

void legacy_redirect(int fd) { ::dup2(STDERR_FILENO, fd); }

}  // namespace

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "close";
  restrack::TrackedFd log = open_log();
  if (std::strcmp(how, "close") == 0) {
    legacy_shutdown(log.get());
  } else if (std::strcmp(how, "fclose") == 0) {
    legacy_stream_shutdown(log.get());
  } else if (std::strcmp(how, "dup2") == 0) {
    legacy_redirect(log.get());
  }
  // The owner's own close comes after: for restrack-run it is no second problem.
  std::printf("owner's close returned %d\n", log.close());
  return 0;
}
