// Symbolization of return addresses, behind one function so the method can change per
// platform (symbolizer_boost.cc: Boost.Stacktrace with the libbacktrace backend).
#pragma once

#include <cstdint>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Function, file and line for the call that `return_address` returns from. Fills only
// function/file/line; called with the symbolizer lock held, never concurrently.
void symbolize_return_address(std::uintptr_t return_address, Frame& frame) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
