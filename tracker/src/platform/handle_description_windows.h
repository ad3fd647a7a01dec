// Internal, Windows only: what a HANDLE or a SOCKET refers to, for the text of a report
// (restrack/tracked_handle.h lists the texts). fd_description_windows.cc describes a C
// runtime descriptor by the handle under it.
#pragma once

#include <winsock2.h>

#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// The path of an open file, as users write it ("C:\data\in.bin"); empty if unknown.
std::string file_path(HANDLE handle);

// "\\.\pipe\name" for a named pipe; empty for an anonymous one or if unknown.
std::string pipe_name(HANDLE handle);

// "file C:\data\in.bin", "pipe \\.\pipe\name", "process pid=4242", "event".
std::string describe_handle(HANDLE handle);

// "tcp socket 127.0.0.1:50123->127.0.0.1:8080", "udp socket 127.0.0.1:5353".
std::string describe_socket(SOCKET socket);

}  // namespace internal
RESTRACK_NAMESPACE_END
