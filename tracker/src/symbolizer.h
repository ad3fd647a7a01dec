// Internal: symbolization of return addresses, behind one function so the method can
// change per platform and build (platform/symbolizer_libdw.cc on Linux).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct SymbolizedAddress {
  // The frames of the call the address returns from, innermost first: more than one when
  // that call sits in functions inlined into one another. Only function (demangled),
  // file and line are filled.
  std::vector<Frame> frames;
  // False when the module's symbols could not be read this time (descriptors exhausted,
  // file briefly missing): the result must not be cached.
  bool final = true;
};

// Symbolizes `return_addresses` in one batch. The backend keeps its session between
// calls and refreshes its view of the process's modules only when one was loaded or
// unloaded (module_generation()). Called with the symbol cache's lock held.
std::vector<SymbolizedAddress> symbolize_return_addresses(
    std::span<const std::uintptr_t> return_addresses) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
