// restrack/proactor/socket_windows.h — the socket types on Windows (included through
// restrack/proactor/socket.h; do not include it directly).
//
// A socket is a Winsock SOCKET, owned by a restrack::TrackedSocket of kind `socket`
// (restrack/tracked_handle.h): the same API as restrack::TrackedFd on POSIX, so code
// written against restrack::Socket and restrack::NativeSocket compiles unchanged on both. Include
// this before <windows.h> (or define WIN32_LEAN_AND_MEAN): <winsock2.h> must come first. The
// proactor's targets define NOMINMAX for their users, so std::min and std::max stay usable.
#pragma once

#include <winsock2.h>
#include <ws2tcpip.h>

#include "restrack/config.h"
#include "restrack/tracked_handle.h"

RESTRACK_NAMESPACE_BEGIN

// What the operating system calls a socket.
using NativeSocket = SOCKET;
inline constexpr NativeSocket kInvalidSocket = INVALID_SOCKET;

// The tracked owner of a socket.
using Socket = TrackedSocket;

RESTRACK_NAMESPACE_END
