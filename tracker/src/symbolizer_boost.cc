#define BOOST_STACKTRACE_USE_BACKTRACE
#include <boost/stacktrace/frame.hpp>

#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

void symbolize_return_address(std::uintptr_t return_address, Frame& frame) noexcept {
  try {
    // A return address points after the call; the instruction before it belongs to the
    // call itself, whose line is the one the user wants.
    const boost::stacktrace::frame call(
        reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(return_address - 1));
    frame.function = call.name();
    frame.file = call.source_file();
    frame.line = static_cast<unsigned>(call.source_line());
  } catch (...) {
    frame.function.clear();
    frame.file.clear();
    frame.line = 0;
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
