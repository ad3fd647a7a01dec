#include <fcntl.h>

#include <cstdio>

#include <restrack/tracker.h>

int main() {
  restrack::TrackedFd leaked(::open("/dev/null", O_RDONLY));
  std::printf("consumer: %zu open\n", restrack::live_count());
  return 0;
}
