// Symbolization with Boost.Stacktrace over libbacktrace (BOOST_STACKTRACE_USE_BACKTRACE):
// the Windows symbolizer — mingw-w64 programs carry DWARF, which libbacktrace reads from
// PE files — and a build-time choice on Linux where elfutils is missing
// (RESTRACK_SYMBOLIZER=boost, docs/design.md).
//
// What it gives less than libdw: one frame per return address. Boost keeps the last of
// the frames libbacktrace reports for an address, the outermost function and the line of
// the call in it, so calls inlined there are not frames of their own; and libbacktrace
// finds no line for the functions of a translation unit whose inline functions the linker
// took from another unit (docs/design.md, "Symbolization").
//
// libbacktrace's state is made once, on first use, and kept for the life of the process;
// it reads the program's own file (its DWARF), which is where a statically linked Windows
// program has all of its code.
#include <boost/stacktrace/frame.hpp>
#include <string>

#include "own_descriptors.h"
#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

std::vector<SymbolizedAddress> symbolize_return_addresses(
    std::span<const std::uintptr_t> return_addresses) noexcept {
  const OwnDescriptorScope own;  // libbacktrace opens the program's file
  std::vector<SymbolizedAddress> result;
  try {
    result.resize(return_addresses.size());
    for (std::size_t i = 0; i < return_addresses.size(); ++i) {
      const std::uintptr_t return_address = return_addresses[i];
      // A return address points after the call; the byte before it belongs to the call
      // itself, whose line is the one the user wants.
      const boost::stacktrace::frame call(reinterpret_cast<const void*>(return_address - 1));
      std::string function = call.name();
      if (function.empty()) continue;  // no symbol: the caller keeps the bare address
      Frame& frame = result[i].frames.emplace_back();
      frame.address = return_address;
      frame.function = std::move(function);
      frame.file = call.source_file();
      frame.line = static_cast<unsigned>(call.source_line());
    }
  } catch (...) {
    // Out of memory: what was symbolized.
  }
  return result;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
