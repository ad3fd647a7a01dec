// Windows side of interposer.h. restrack-run, the preloaded library that tracks an
// unmodified program's descriptors, exists on Linux only (it interposes the C library's
// calls through the dynamic linker): no Windows process carries its entry point, so
// start-up has nothing to hand the table to, and the table itself is not built here.
#include "interposer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

void announce_to_interposer() noexcept {}

}  // namespace internal
RESTRACK_NAMESPACE_END
