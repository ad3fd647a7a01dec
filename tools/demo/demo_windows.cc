// restrack-demo on Windows: the tracker part of demo.cc with Windows handles — one file
// handle leaked, one socket closed twice — and what restrack prints for each, then the
// proactor part (proactor_demo.cc) on the IOCP backend, whose forgotten child process is
// this program again, started with --helper (it sleeps, as /bin/sleep 30 does on Linux).
// Built by the windows preset and run under Wine by its tests:
//
//   wine build/windows/tools/demo/restrack-demo.exe
// <winsock2.h> before <windows.h>.
#include <winsock2.h>

#include <windows.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "restrack/tracker.h"
#if RESTRACK_DEMO_PROACTOR
#include "proactor_demo.h"
#endif

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

#if RESTRACK_DEMO_PROACTOR
// This program, asked to sleep (main's --helper).
std::vector<std::string> demo_helper_command() {
  wchar_t path[MAX_PATH];
  const int length = static_cast<int>(GetModuleFileNameW(nullptr, path, MAX_PATH));
  const int size = WideCharToMultiByte(CP_UTF8, 0, path, length, nullptr, 0, nullptr, nullptr);
  std::string text(static_cast<std::size_t>(size), '\0');
  WideCharToMultiByte(CP_UTF8, 0, path, length, text.data(), size, nullptr, nullptr);
  return {text, "--helper"};
}
#endif

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--helper") == 0) {
    Sleep(30'000);  // the proactor demo's child: killed long before
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  WSADATA winsock;
  if (WSAStartup(MAKEWORD(2, 2), &winsock) != 0) return 1;
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
  WSACleanup();
  return 0;
}
