// restrack-demo: a small program that handles its resources the way real programs slip
// up — one file descriptor leaked, one socket closed twice — and shows what restrack
// prints for each. Run it from a tracking build:
//
//   build/debug/tools/demo/restrack-demo
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

#include "restrack/tracker.h"
#if RESTRACK_DEMO_PROACTOR
#include "proactor_demo.h"
#endif

static restrack::TrackedFd open_config_file() {
  return restrack::TrackedFd(::open("/etc/hostname", O_RDONLY | O_CLOEXEC));
}

static restrack::TrackedFd open_listener() {
  restrack::TrackedFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
                               restrack::kinds::socket);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 4) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  return listener;
}

static std::pair<restrack::TrackedFd, restrack::TrackedFd> open_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create a pipe");
  return {restrack::TrackedFd(fds[0], restrack::kinds::pipe),
          restrack::TrackedFd(fds[1], restrack::kinds::pipe)};
}

static void read_settings() {
  restrack::TrackedFd config = open_config_file();
  char buffer[64];
  (void)::read(config.get(), buffer, sizeof buffer);
  // Forgot config.close(): restrack closes it here and says where it was opened.
}

static void shut_down(restrack::TrackedFd& listener) {
  listener.close();
  listener.close();  // a second close elsewhere in the shutdown path
}

static void run_tracker_demo() {
  restrack::TrackedFd listener = open_listener();
  auto [read_end, write_end] = open_pipe();
  std::printf("restrack-demo: %zu resources open\n", restrack::live_count());

  read_settings();
  read_end.close();
  write_end.close();
  shut_down(listener);
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("restrack-demo: %zu resources open at start\n", restrack::live_count());
  try {
    run_tracker_demo();
#if RESTRACK_DEMO_PROACTOR
    run_proactor_demo();
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "restrack-demo: %s\n", e.what());
    return 1;
  }
  std::printf("restrack-demo: %zu resources open at end\n", restrack::live_count());
  return 0;
}

#if RESTRACK_DEMO_PROACTOR
std::vector<std::string> demo_helper_command() { return {"/bin/sleep", "30"}; }
#endif
