// Internal (Windows): Winsock start-up and the Microsoft extension functions the IOCP
// backend needs (AcceptEx, ConnectEx), looked up once per process through WSAIoctl.
#pragma once

#include <mswsock.h>
#include <winsock2.h>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct WinsockRuntime {
  LPFN_ACCEPTEX accept_ex = nullptr;
  LPFN_CONNECTEX connect_ex = nullptr;
};

// Starts Winsock 2.2 on first use (WSAStartup, never undone: sockets may be closed by
// destructors of static objects) and looks the extension functions up. Throws
// std::system_error naming the call that failed.
const WinsockRuntime& winsock_runtime();

// The Windows error of a finished request's NTSTATUS (OVERLAPPED::Internal; 0 for
// success), through RtlNtStatusToDosError.
DWORD status_error(ULONG_PTR status) noexcept;

// A Winsock or Win32 error as the proactor's results carry it (a negative value): the
// errno twin where the portable layers test for one (ECANCELED for an aborted operation,
// ECONNREFUSED, ECONNRESET, ...), else the Windows code offset by kWindowsErrorBase
// (result_error.h, which turns either into a std::error_code).
int error_result(DWORD error) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
