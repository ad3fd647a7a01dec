// Symbolization of return addresses, behind one function so the method can change per
// platform (platform/symbolizer_libdw.cc on Linux).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// For each return address, the frames of the call it returns from, innermost first:
// more than one when that call sits in functions inlined into one another. Fills only
// function (demangled), file and line. Addresses are symbolized in one batch so that the
// debug information is opened once, and closed again before returning: restrack holds no
// descriptor of its own between reports. Called with the symbolizer lock held.
std::vector<std::vector<Frame>> symbolize_return_addresses(
    std::span<const std::uintptr_t> return_addresses) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
