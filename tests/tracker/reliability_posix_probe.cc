// The reliability tests' child process for what is about POSIX itself (Linux only;
// docs/windows.md); argv[1] picks what it does.
//   emfile        the first report happens while no descriptor is free, the second after
//   bytes         a handle whose description holds bytes that are not UTF-8
//   fork          children forked while another thread opens and closes handles
//   fiber         a handle opened on a stack of its own (ucontext) with capture=fp
//   library-frame a widget leaked on a std::thread, whose function libstdc++ calls (no debug
//                 information for it here); prints whether the report loaded the
//                 debuginfod client
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "restrack/tracker.h"

namespace {

restrack::TrackedFd open_null() { return restrack::TrackedFd(::open("/dev/null", O_RDONLY)); }

void leak_one() { restrack::TrackedFd leaked = open_null(); }

// A tracked resource that holds no descriptor: leaking it frees none for the report.
constexpr restrack::Kind kWidget{"widget"};
struct Widget {
  Widget() { guard.open(kWidget, this); }
  ~Widget() {
    guard.release_and_warn([]() noexcept {});
  }
  restrack::ResourceGuard guard;
};
void leak_widget() { Widget leaked; }

int fork_children() {
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load()) {
      restrack::TrackedFd fd = open_null();
      fd.close();
    }
  });
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    const pid_t child = ::fork();
    if (child == 0) {
      ::alarm(10);  // a hang ends the child with SIGALRM instead of the test
      restrack::TrackedFd fd = open_null();
      const std::vector<restrack::ResourceInfo> live = restrack::live_resources();
      bool own_thread = false;
      for (const restrack::ResourceInfo& info : live) {
        own_thread = own_thread || info.thread_id == static_cast<std::uint64_t>(::getpid());
      }
      fd.close();
      ::_exit(own_thread ? 0 : 3);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
  }
  stop = true;
  churn.join();
  std::printf("%d of 50 children ok\n", ok);
  return 0;
}

ucontext_t main_context;
ucontext_t fiber_context;

void on_fiber() {
  leak_one();  // opened and destroyed on the fiber's own stack
  swapcontext(&fiber_context, &main_context);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "emfile") {
    // Every descriptor in use: the symbolizer cannot open the program's file.
    rlimit limit{64, 64};
    ::setrlimit(RLIMIT_NOFILE, &limit);
    std::vector<int> hogs;
    for (int fd = ::open("/dev/null", O_RDONLY); fd >= 0; fd = ::open("/dev/null", O_RDONLY)) {
      hogs.push_back(fd);
    }
    leak_widget();  // reported while the symbolizer cannot open the program
    for (int fd : hogs) ::close(fd);
    leak_widget();
  } else if (mode == "bytes") {
    const std::string name =
        std::string("/tmp/restrack-caf\xe9-\x1b[31m-") + std::to_string(::getpid());
    restrack::TrackedFd file(::open(name.c_str(), O_CREAT | O_RDWR, 0600));
    ::unlink(name.c_str());
    static_cast<void>(new restrack::TrackedFd(std::move(file)));  // open at exit
  } else if (mode == "fork") {
    return fork_children();
  } else if (mode == "library-frame") {
    ::unsetenv("DEBUGINFOD_URLS");  // no server named
    // The thread's function is called from libstdc++'s execute_native_thread_routine.
    std::thread([] { leak_widget(); }).join();
    const bool loaded = ::dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD) != nullptr;
    std::printf("debuginfod client loaded: %s\n", loaded ? "yes" : "no");
  } else if (mode == "fiber") {
    static char stack[256 * 1024];
    getcontext(&fiber_context);
    fiber_context.uc_stack.ss_sp = stack;
    fiber_context.uc_stack.ss_size = sizeof stack;
    fiber_context.uc_link = &main_context;
    makecontext(&fiber_context, on_fiber, 0);
    swapcontext(&main_context, &fiber_context);
  } else {
    std::fprintf(stderr, "usage: reliability_posix_probe MODE (see the source)\n");
    return 2;
  }
  std::printf("main returns\n");
  return 0;
}
