// Linux implementation of platform.h.
#include <absl/strings/escaping.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "no_destructor.h"
#include "platform.h"

#if defined(__SANITIZE_ADDRESS__)
#define RESTRACK_LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define RESTRACK_LEAK_CHECKED 1
#endif
#endif
#if !defined(RESTRACK_LEAK_CHECKED)
#define RESTRACK_LEAK_CHECKED 0
#endif
#if RESTRACK_LEAK_CHECKED
#include <sanitizer/lsan_interface.h>
#endif

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

thread_local std::uint32_t cached_thread_id = 0;

// dladdr names the main program by argv[0], which may be relative; a report read on
// another machine needs the real path.
const std::string& main_program_path() {
  static NoDestructor<std::string> path([] {
    char buffer[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  }());
  return *path;
}

// The GNU build-id note of the loaded module `map`, as hex, read from its PT_NOTE
// segments in memory.
std::string build_id_of(const link_map* map) {
  struct Search {
    const link_map* map;
    std::string id;
  } search{map, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* wanted = static_cast<Search*>(data);
        const char* name = wanted->map->l_name != nullptr ? wanted->map->l_name : "";
        if (info->dlpi_addr != wanted->map->l_addr ||
            std::strcmp(info->dlpi_name != nullptr ? info->dlpi_name : "", name) != 0) {
          return 0;
        }
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& segment = info->dlpi_phdr[i];
          if (segment.p_type != PT_NOTE) continue;
          const auto* note =
              reinterpret_cast<const unsigned char*>(info->dlpi_addr + segment.p_vaddr);
          const unsigned char* end = note + segment.p_memsz;
          while (note + sizeof(ElfW(Nhdr)) <= end) {
            const auto* header_of_note = reinterpret_cast<const ElfW(Nhdr)*>(note);
            const unsigned char* owner = note + sizeof(ElfW(Nhdr));
            const unsigned char* desc = owner + ((header_of_note->n_namesz + 3) & ~3u);
            if (header_of_note->n_type == NT_GNU_BUILD_ID && header_of_note->n_namesz == 4 &&
                std::memcmp(owner, "GNU", 4) == 0) {
              wanted->id = absl::BytesToHexString(
                  absl::string_view(reinterpret_cast<const char*>(desc), header_of_note->n_descsz));
              return 1;
            }
            note = desc + ((header_of_note->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

}  // namespace

void yield_thread() noexcept { sched_yield(); }

void* reserve_memory(std::size_t bytes) noexcept {
  // Inaccessible pages count toward no commit limit, even where overcommit is strict.
  void* address =
      ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return address == MAP_FAILED ? nullptr : address;
}

bool commit_memory(void* address, std::size_t bytes) noexcept {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto from = reinterpret_cast<std::uintptr_t>(address) / page * page;
  const std::uintptr_t to =
      (reinterpret_cast<std::uintptr_t>(address) + bytes + page - 1) / page * page;
  if (::mprotect(reinterpret_cast<void*>(from), to - from, PROT_READ | PROT_WRITE) != 0) {
    return false;
  }
#if RESTRACK_LEAK_CHECKED
  // LeakSanitizer looks for pointers in the heap, the stacks and the globals, not in
  // mapped memory: what the committed range points to (a shard's chunks) would be leaks.
  __lsan_register_root_region(address, bytes);
#endif
  return true;
}

bool process_barrier_available() noexcept {
  // The registration is the process's (fork's children inherit it); a failed one is
  // remembered, so an unsupported kernel costs one system call.
  enum : int { unknown, registered, unsupported };
  static std::atomic<int> state{unknown};
  int now = state.load(std::memory_order_acquire);
  if (now == unknown) {
    now = ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
              ? registered
              : unsupported;
    state.store(now, std::memory_order_release);
  }
  return now == registered;
}

void process_barrier() noexcept {
  // Cannot fail once registered (process_barrier_available()).
  ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

std::uint32_t current_thread_id() noexcept {
  if (cached_thread_id == 0) cached_thread_id = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  return cached_thread_id;
}

namespace {

struct KnownStack {
  StackBounds bounds;
  bool known = false;
};
thread_local KnownStack tls_stack;

[[gnu::noinline]] StackBounds look_up_stack_bounds() noexcept {
  KnownStack& stack = tls_stack;
  stack.known = true;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* address = nullptr;
    std::size_t size = 0;
    if (pthread_attr_getstack(&attr, &address, &size) == 0) {
      stack.bounds.low = reinterpret_cast<std::uintptr_t>(address);
      stack.bounds.high = stack.bounds.low + size;
    }
    pthread_attr_destroy(&attr);
  }
  return stack.bounds;
}

}  // namespace

StackBounds current_stack_bounds() noexcept {
  const KnownStack& stack = tls_stack;
  return stack.known ? stack.bounds : look_up_stack_bounds();
}

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
    if (map != nullptr) info.build_id = build_id_of(map);
  } catch (...) {
    info.path.clear();
  }
  return info;
}

std::uint64_t module_generation() noexcept {
  // glibc counts loads and unloads in every dl_phdr_info it hands out.
  std::uint64_t generation = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t size, void* data) -> int {
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          *static_cast<std::uint64_t*>(data) = (info->dlpi_adds << 32) ^ info->dlpi_subs;
        }
        return 1;
      },
      &generation);
  return generation;
}

bool is_process_exit_frame(std::string_view function) noexcept {
  // glibc: exit() -> __run_exit_handlers(); shared objects' statics via __cxa_finalize().
  return function == "__run_exit_handlers" || function == "exit" || function == "__cxa_finalize" ||
         function == "_dl_fini";
}

bool is_static_initializer_frame(std::string_view function) noexcept {
  // GCC and Clang name a translation unit's initializer these ways.
  return function.starts_with("__static_initialization_and_destruction_0") ||
         function.starts_with("_GLOBAL__sub_I_") || function.starts_with("__cxx_global_var_init");
}

int current_process_id() noexcept { return static_cast<int>(::getpid()); }

void write_stderr(const char* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void register_fork_handlers(void (*prepare)(), void (*parent)(), void (*child)()) noexcept {
  pthread_atfork(prepare, parent, [] {
    cached_thread_id = 0;  // the child's thread has an id of its own
  });
  pthread_atfork(nullptr, nullptr, child);
}

void exit_with_status(int status) noexcept {
  // Called from an exit handler: glibc runs the handlers still pending (registered before
  // this one), then ends the process with the new status.
  std::fflush(nullptr);
  std::exit(status);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
