// restrack-demo on Windows: the tracker part of demo.cc with Windows handles — one file
// handle leaked, one socket closed twice — and what restrack prints for each. The
// proactor part needs the transports, which are Linux only for now (docs/windows.md).
// Built by the windows preset and run under Wine by its tests:
//
//   wine build/windows/tools/demo/restrack-demo.exe
// <winsock2.h> before <windows.h>.
#include <winsock2.h>

#include <windows.h>

#include <cstdio>
#include <stdexcept>
#include <utility>

#include "restrack/tracker.h"

static restrack::TrackedHandle open_config_file() {
  return restrack::TrackedHandle(CreateFileW(L"C:\\windows\\win.ini", GENERIC_READ, FILE_SHARE_READ,
                                             nullptr, OPEN_EXISTING, 0, nullptr));
}

static restrack::TrackedSocket open_listener() {
  restrack::TrackedSocket listener(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 4) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  return listener;
}

static std::pair<restrack::TrackedHandle, restrack::TrackedHandle> open_pipe() {
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (!CreatePipe(&read_end, &write_end, nullptr, 0)) {
    throw std::runtime_error("cannot create a pipe");
  }
  return {restrack::TrackedHandle(read_end, restrack::kinds::pipe),
          restrack::TrackedHandle(write_end, restrack::kinds::pipe)};
}

static void read_settings() {
  restrack::TrackedHandle config = open_config_file();
  char buffer[64];
  DWORD read = 0;
  (void)ReadFile(config.get(), buffer, sizeof buffer, &read, nullptr);
  // Forgot config.close(): restrack closes it here and says where it was opened.
}

static void shut_down(restrack::TrackedSocket& listener) {
  listener.close();
  listener.close();  // a second close elsewhere in the shutdown path
}

static void run_tracker_demo() {
  restrack::TrackedSocket listener = open_listener();
  auto [read_end, write_end] = open_pipe();
  std::printf("restrack-demo: %zu resources open\n", restrack::live_count());

  read_settings();
  read_end.close();
  write_end.close();
  shut_down(listener);
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  WSADATA winsock;
  if (WSAStartup(MAKEWORD(2, 2), &winsock) != 0) return 1;
  std::printf("restrack-demo: %zu resources open at start\n", restrack::live_count());
  try {
    run_tracker_demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "restrack-demo: %s\n", e.what());
    return 1;
  }
  std::printf("restrack-demo: %zu resources open at end\n", restrack::live_count());
  WSACleanup();
  return 0;
}
