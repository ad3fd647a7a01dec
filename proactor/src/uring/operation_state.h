// Internal: what an operation carries for the io_uring backend beyond the portable fields
// of Operation — the message header and vector of sendmsg/recvmsg, which the kernel reads
// while the request is in flight (rule 1: they live in the operation).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct PlatformOperationState {
  msghdr message{};
  iovec io{};
};

}  // namespace internal
RESTRACK_NAMESPACE_END
