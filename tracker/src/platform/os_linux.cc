// Linux implementation of platform.h.
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>

#include "platform.h"
#include "spin_lock.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

void yield_thread() noexcept { sched_yield(); }

std::uint32_t current_thread_id() noexcept {
  static thread_local std::uint32_t id = 0;
  if (id == 0) id = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  return id;
}

std::int64_t coarse_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

StackBounds current_stack_bounds() noexcept {
  static thread_local StackBounds bounds;
  static thread_local bool known = false;
  if (!known) {
    known = true;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* address = nullptr;
      std::size_t size = 0;
      if (pthread_attr_getstack(&attr, &address, &size) == 0) {
        bounds.low = reinterpret_cast<std::uintptr_t>(address);
        bounds.high = bounds.low + size;
      }
      pthread_attr_destroy(&attr);
    }
  }
  return bounds;
}

namespace {

// dladdr names the main program by argv[0], which may be relative; a report read on
// another machine needs the real path.
const std::string& main_program_path() {
  static const std::string* path = [] {
    char buffer[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    return new std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  }();
  return *path;
}

}  // namespace

ModuleInfo module_of(std::uintptr_t address) noexcept {
  ModuleInfo info;
  Dl_info dl{};
  void* object = nullptr;
  if (dladdr1(reinterpret_cast<void*>(address), &dl, &object, RTLD_DL_LINKMAP) == 0) {
    return info;
  }
  info.base = reinterpret_cast<std::uintptr_t>(dl.dli_fbase);
  try {
    const auto* map = static_cast<const link_map*>(object);
    if (map != nullptr && map->l_name != nullptr && map->l_name[0] == '\0') {
      info.path = main_program_path();
    } else if (dl.dli_fname != nullptr) {
      info.path = dl.dli_fname;
    }
  } catch (...) {
    info.path.clear();
  }
  return info;
}

bool is_process_exit_frame(std::string_view function) noexcept {
  // glibc: exit() -> __run_exit_handlers(); shared objects' statics via __cxa_finalize().
  return function == "__run_exit_handlers" || function == "exit" || function == "__cxa_finalize" ||
         function == "_dl_fini";
}

int current_process_id() noexcept { return static_cast<int>(::getpid()); }

void write_stderr(const char* data, std::size_t size) noexcept {
  while (size > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void exit_immediately(int status) noexcept {
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
