// Internal: symbolized traces as users read them — the layer above the registry: the
// per-address cache over the platform symbolizer, name clean-up, and the filter that
// drops restrack's and the standard library's frames.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "platform.h"
#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Symbolizes in one batch every address of `traces` that the cache lacks, so that a
// report opens the symbolizer once for its allocation, site and close traces together.
void prepare_symbols(std::initializer_list<TraceId> traces) noexcept;

// True for restrack's own frames and the standard-library frames they run through
// (std::function, coroutine resumption, std::make_unique, std::construct_at): a trace
// the user reads shows none of them. Judged on the qualified name of the function, and
// on the module for a sanitizer's runtime.
bool is_library_frame(const Frame& frame) noexcept;

// The qualified name of the function a demangled signature names, without its return
// type, template arguments of the return type, or parameter list:
// "decltype (...) std::construct_at<T, int>(T*, int&&)" -> "std::construct_at<T, int>".
std::string_view qualified_name(std::string_view signature) noexcept;

// The module holding `address` (path, base, build id), cached per module.
ModuleInfo cached_module_of(std::uintptr_t address) noexcept;

// Held across fork().
void lock_symbols_for_fork() noexcept;
void unlock_symbols_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
