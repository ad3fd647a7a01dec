// A program the Windows reliability tests run as a child process; argv[1] picks what it
// does.
//   fiber   a handle opened and leaked on a fiber of its own (CreateFiber), the
//           counterpart of reliability_posix_probe.cc's ucontext fiber
#include <windows.h>

#include <cstdio>
#include <string>

#include "restrack/tracker.h"
#include "test_object.h"

namespace {

LPVOID main_fiber = nullptr;

[[gnu::noinline]] void leak_on_fiber() {
  restrack::TrackedFd leaked(restrack_test::open_test_object());
}

void WINAPI run_fiber(LPVOID) {
  leak_on_fiber();  // opened and destroyed on the fiber's own stack
  SwitchToFiber(main_fiber);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "fiber") {
    main_fiber = ConvertThreadToFiber(nullptr);
    LPVOID fiber = CreateFiber(SIZE_T{64} << 10, run_fiber, nullptr);
    if (main_fiber == nullptr || fiber == nullptr) {
      std::fprintf(stderr, "cannot create a fiber: Windows error %lu\n", GetLastError());
      return 1;
    }
    SwitchToFiber(fiber);
    DeleteFiber(fiber);
    ConvertFiberToThread();
  } else {
    std::fprintf(stderr, "usage: reliability_windows_probe MODE (see the source)\n");
    return 2;
  }
  std::printf("main returns\n");
  return 0;
}
