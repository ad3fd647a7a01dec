// Internal: the platform's socket calls that the portable socket layer and the transports
// need (posix/socket_posix.cc; windows/socket_windows.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "operation.h"
#include "restrack/config.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/socket_platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// How a transport's description names its handle: "fd=7" on POSIX, "handle=0x1a4" on
// Windows.
std::string handle_text(NativeSocket socket);

// Closes a socket nobody owns (an accepted connection whose future was already done).
void close_socket(NativeSocket socket) noexcept;

// The operations that receive from and send to a stream `socket`: recv and send, or on
// Windows read and write (ReadFile, WriteFile) when it owns a pipe HANDLE
// (Socket::holds_handle()) rather than a Winsock socket. POSIX: always recv and send.
struct StreamOperations {
  OperationType receive;
  OperationType send;
};
StreamOperations stream_operations(const Socket& socket) noexcept;

enum class ShutdownHow { write, both };
// shutdown(2); errors are ignored (rule 22: a reset peer must not surface as an exception).
void shutdown_socket(NativeSocket socket, ShutdownHow how) noexcept;

// getpeername / getsockname; an empty address when the socket has none (or is closed).
SocketAddress peer_address(NativeSocket socket);
SocketAddress socket_address(NativeSocket socket);

// Binds a datagram socket to `local` and connects it to `remote` if given. Throws
// std::system_error naming the address.
void bind_datagram(const Socket& socket, const SocketAddress& local,
                   const std::optional<SocketAddress>& remote);

// Direct transfers: a transport moves data with a plain non-blocking call when the kernel
// can take or give it at once, skipping the operation, its copy and its loop iteration.
// Both return the bytes moved, 0 when none were, or when the call failed or met
// end-of-file: the transport then goes through the loop, whose operation reports the error
// or the end-of-file as always. They never block and never raise SIGPIPE. POSIX: send(2) and
// recv(2) with MSG_DONTWAIT (and MSG_NOSIGNAL). Windows: always 0 (sockets there are
// overlapped and in blocking mode; every transfer goes through the completion port).
std::size_t send_now(NativeSocket socket, std::string_view data) noexcept;
std::size_t receive_now(NativeSocket socket, char* buffer, std::size_t size) noexcept;

// TCP_NODELAY on a TCP socket (transports send what they are given at once, as asyncio).
void set_no_delay(NativeSocket socket) noexcept;

// The classifications below take an operation's error as a positive number (minus its
// result): an errno value, or on Windows the errno the IOCP backend maps a Windows error
// to, else kWindowsErrorBase + the Windows code (result_error.h; docs/windows.md,
// "Results").

// Errors that concern one accepted connection, not the listener: the accept loop goes on
// at once (rule 15).
bool is_per_connection_error(int error) noexcept;

// Errors of a connection that the peer ended (reset, aborted, broken pipe): they close the
// transport with that error and are not logged (rule 20).
bool is_connection_reset(int error) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
