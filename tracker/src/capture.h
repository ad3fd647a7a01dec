// Stack capture: fills `out` with up to `max_frames` return addresses of the calling
// thread, innermost first, skipping `skip` frames above the caller. One file per method
// (capture_frame_pointer.cc, capture_dwarf.cc).
#pragma once

#include "restrack/config.h"

#include <cstdint>

RESTRACK_NAMESPACE_BEGIN
namespace internal {

int capture_frame_pointers(std::uintptr_t* out, int max_frames, int skip) noexcept;
int capture_dwarf(std::uintptr_t* out, int max_frames, int skip) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
