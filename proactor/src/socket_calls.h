// Internal: the platform's socket calls that the portable socket layer needs
// (posix/socket_posix.cc; iocp/ on Windows).
#pragma once

#include "restrack/config.h"
#include "restrack/proactor/socket_platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Closes a socket nobody owns (an accepted connection whose future was already done).
void close_socket(NativeSocket socket) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
