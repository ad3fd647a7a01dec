// restrack/proactor/socket_posix.h — the socket types on POSIX systems (included through
// restrack/proactor/socket.h; do not include it directly).
//
// A socket is a file descriptor, owned by a restrack::TrackedFd of kind `socket`. Code
// written against restrack::Socket and restrack::NativeSocket compiles unchanged where
// the socket is a Windows SOCKET owned by its own tracked handle type.
#pragma once

#include <sys/socket.h>

#include "restrack/config.h"
#include "restrack/tracked_fd.h"

RESTRACK_NAMESPACE_BEGIN

// What the operating system calls a socket.
using NativeSocket = int;
inline constexpr NativeSocket kInvalidSocket = -1;

// The tracked owner of a socket: move-only, close() returns the OS error, destroying it
// while open reports "unclosed socket" and closes it.
using Socket = TrackedFd;

RESTRACK_NAMESPACE_END
