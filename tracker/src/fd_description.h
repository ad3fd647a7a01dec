// What an OS descriptor refers to, for the text of a report. One implementation per
// platform (platform/fd_description_linux.cc).
#pragma once

#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// "tcp fd=7 127.0.0.1:40312->127.0.0.1:8080", "fd=3 /tmp/data.bin", "fd=5 pipe:[1234]".
std::string describe_fd(int fd);

}  // namespace internal
RESTRACK_NAMESPACE_END
