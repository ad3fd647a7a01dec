#include <windows.h>

#include <cstdio>

#include <restrack/tracker.h>

int main() {
  HANDLE nul = CreateFileW(L"NUL", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  restrack::TrackedHandle leaked(nul);
  std::printf("consumer: %zu open\n", restrack::live_count());
  return 0;
}
