// Internal: the narrow interface to the operating system — the bottom layer of the
// tracker. Each function is implemented once per platform in platform/*_<platform>.cc
// (the build picks the files), except the one inline below for the open's hot path.
// Nothing here calls into the rest of the tracker.
#pragma once

#include "restrack/config.h"

#include <cstdint>
#include <string>
#include <string_view>

#if defined(__linux__)
#include <time.h>
#endif

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// OS id of the calling thread (gettid on Linux); cached per thread, renewed after fork.
std::uint32_t current_thread_id() noexcept;

// A cheap monotonic clock in nanoseconds; millisecond resolution is enough for ages.
// Every open reads it, so on Linux it is inline here: CLOCK_MONOTONIC_COARSE, which the
// vDSO answers without a system call.
#if defined(__linux__)
inline std::int64_t coarse_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
#else
std::int64_t coarse_now_ns() noexcept;
#endif

// Bounds of the calling thread's stack, cached per thread; {0, 0} if unknown.
struct StackBounds {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
};
StackBounds current_stack_bounds() noexcept;

// The module (executable or shared object) containing `address`: its path, load base and
// build id (hex of the GNU build-id note; empty when it has none).
struct ModuleInfo {
  std::string path;
  std::uintptr_t base = 0;
  std::string build_id;
};
ModuleInfo module_of(std::uintptr_t address) noexcept;

// Changes whenever a module is loaded or unloaded; cheap to call.
std::uint64_t module_generation() noexcept;

// True for the C library's frames that run static destructors and atexit handlers at
// process exit.
bool is_process_exit_frame(std::string_view function) noexcept;

// True for the frames that run a translation unit's file-scope initializers
// (__static_initialization_and_destruction_0, _GLOBAL__sub_I_...).
bool is_static_initializer_frame(std::string_view function) noexcept;

// Process id, for "%p" in report paths.
int current_process_id() noexcept;

// Writes bytes straight to standard error, bypassing every buffer.
void write_stderr(const char* data, std::size_t size) noexcept;

// Gives the processor to another thread (spin-lock back-off).
void yield_thread() noexcept;

// Address space for `bytes`, none of it usable until committed; null when there is none.
// Never given back (the registry's shards live as long as the process).
void* reserve_memory(std::size_t bytes) noexcept;
// Makes [address, address + bytes) of a reservation readable and writable, zero-filled
// where it was not committed before (whole pages around the range); false when memory runs
// out.
bool commit_memory(void* address, std::size_t bytes) noexcept;

// The heavy half of an asymmetric fence: when process_barrier() returns, every thread of
// the process has run a full memory barrier, so a thread that pairs it with only a
// compiler barrier still gets store-load ordering against the caller (membarrier's private
// expedited command on Linux). process_barrier_available() prepares it on its first call
// and then only says whether the system offers it; process_barrier() may be called only
// when it does.
bool process_barrier_available() noexcept;
void process_barrier() noexcept;

// Runs `prepare` before fork() in the forking thread, `parent` after it in the parent
// and `child` in the child (pthread_atfork).
void register_fork_handlers(void (*prepare)(), void (*parent)(), void (*child)()) noexcept;

// Ends the process with `status` after the exit handlers still pending have run: called
// from an exit handler, it lets the handlers registered before it (LeakSanitizer's check
// among them) run, then exits with `status`.
[[noreturn]] void exit_with_status(int status) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
