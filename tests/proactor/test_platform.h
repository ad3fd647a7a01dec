// Test-only: what the proactor tests' fixtures need of the platform (test_platform_posix.cc,
// test_platform_windows.cc).
#pragma once

#include <string>

#include "restrack/proactor/socket.h"

namespace restrack_test {

// Two connected sockets of `type` (SOCK_STREAM or SOCK_DGRAM), tracked as kind `socket`:
// an AF_UNIX socketpair on POSIX, a loopback TCP connection or a pair of connected loopback
// UDP sockets on Windows (which has no socketpair). Fails the test if it cannot make them.
void make_socket_pair(int type, restrack::Socket& first, restrack::Socket& second);

// Rule 18: true if `handle` cannot block a thread — O_NONBLOCK on POSIX; on Windows, a
// handle opened for overlapped I/O (no FILE_SYNCHRONOUS_IO_* mode).
bool is_nonblocking(restrack::NativeSocket handle);

// A new stream socket that nothing owns, standing for a connection a scripted backend
// "accepts".
restrack::NativeSocket open_unowned_socket();

// True once `handle` no longer names an open socket (it was closed).
bool is_closed(restrack::NativeSocket handle);

// The start of a TCP socket's description, as a regular expression: "tcp fd=7" on POSIX,
// "tcp socket" on Windows (the tracker describes a SOCKET without its value).
extern const char* const kTcpSocketDescription;

// A pipe name no other test or test program uses, ending in `stem`: a path under /tmp on
// POSIX ("/tmp/restrack-pipe-4242-3-app.sock"), a named pipe on Windows
// ("\\.\pipe\restrack-pipe-4242-3-app.sock").
std::string unique_pipe_name(const std::string& stem);

// How many descriptors (POSIX: /proc/self/fd) or handles (Windows) this process has open,
// to prove that nothing leaked. Windows counts the values below 0x4000 that name a handle
// (GetHandleInformation): Wine answers GetProcessHandleCount with 0.
int open_descriptor_count();

// The subprocess tests' child program (test_child.cc), next to the test program:
// restrack_test_child on POSIX, restrack_test_child.exe on Windows.
std::string test_child_path();

// True if this process has no child left: none unreaped (POSIX: waitid says ECHILD), none
// running (Windows: no process in a Toolhelp snapshot names this one as its parent, within
// 5 s: Wine lists an ended child a moment longer).
bool no_child_left();

// Waits (up to 10 s) until the child behind `process_handle` (a pidfd; a process HANDLE on
// Windows) has exited, without reaping it; false if it is still running.
bool wait_for_exit(restrack::NativeSocket process_handle);

// A spawn error's platform parts: the error code and its text for a program that does not
// exist (ENOENT on POSIX, ERROR_FILE_NOT_FOUND on Windows), and for a working directory in
// a directory that does not exist (ENOENT; ERROR_PATH_NOT_FOUND on Windows). POSIX: the
// texts of strerror; Windows: the system's message text, which Wine words differently
// from Windows (docs/windows.md).
extern const int kNoSuchProgramError;
extern const int kNoSuchDirectoryError;
std::string no_such_program_text();
std::string no_such_directory_text();

}  // namespace restrack_test
