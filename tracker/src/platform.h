// The narrow interface to the operating system. Each function is implemented once per
// platform in platform/*_<platform>.cc; the build picks the files.
#pragma once

#include "restrack/config.h"

#include <cstdint>
#include <string>
#include <string_view>

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// OS id of the calling thread (gettid on Linux); cached per thread.
std::uint32_t current_thread_id() noexcept;

// A cheap monotonic clock in nanoseconds; millisecond resolution is enough for ages.
std::int64_t coarse_now_ns() noexcept;

// Bounds of the calling thread's stack, cached per thread; {0, 0} if unknown.
struct StackBounds {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
};
StackBounds current_stack_bounds() noexcept;

// The module (executable or shared object) containing `address`, and its load base.
struct ModuleInfo {
  std::string path;
  std::uintptr_t base = 0;
};
ModuleInfo module_of(std::uintptr_t address) noexcept;

// True for the C library's frames that run static destructors and atexit handlers at
// process exit.
bool is_process_exit_frame(std::string_view function) noexcept;

// Process id, for "%p" in report paths.
int current_process_id() noexcept;

// Writes bytes straight to standard error, bypassing every buffer.
void write_stderr(const char* data, std::size_t size) noexcept;

// Ends the process with `status` at once, after flushing C stdio.
[[noreturn]] void exit_immediately(int status) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
