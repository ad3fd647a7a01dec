#include "winsock_runtime.h"

#include <winternl.h>

#include <cerrno>
#include <system_error>

#include "result_error.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// ERROR_HANDLES_CLOSED, what RtlNtStatusToDosError makes of STATUS_HANDLES_CLOSED; not in
// mingw-w64's <winerror.h>.
constexpr DWORD kErrorHandlesClosed = 676;

template <class Function>
Function extension_function(SOCKET socket, GUID id, const char* name) {
  Function function = nullptr;
  DWORD bytes = 0;
  if (::WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &function,
                 sizeof function, &bytes, nullptr, nullptr) != 0) {
    const int error = ::WSAGetLastError();
    ::closesocket(socket);
    throw std::system_error(
        error, std::system_category(),
        std::string("WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) for ") + name);
  }
  return function;
}

WinsockRuntime start() {
  WSADATA data{};
  if (const int error = ::WSAStartup(MAKEWORD(2, 2), &data); error != 0) {
    throw std::system_error(error, std::system_category(), "WSAStartup");
  }
  // The extension functions belong to the TCP provider; any TCP socket can fetch them.
  const SOCKET probe = ::WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (probe == INVALID_SOCKET) {
    throw std::system_error(::WSAGetLastError(), std::system_category(), "WSASocket");
  }
  WinsockRuntime runtime;
  runtime.accept_ex = extension_function<LPFN_ACCEPTEX>(probe, WSAID_ACCEPTEX, "AcceptEx");
  runtime.connect_ex = extension_function<LPFN_CONNECTEX>(probe, WSAID_CONNECTEX, "ConnectEx");
  ::closesocket(probe);
  return runtime;
}

}  // namespace

const WinsockRuntime& winsock_runtime() {
  static const WinsockRuntime runtime = start();
  return runtime;
}

DWORD status_error(ULONG_PTR status) noexcept {
  if (status == 0) return 0;
  return ::RtlNtStatusToDosError(static_cast<NTSTATUS>(status));
}

int error_result(DWORD error) noexcept {
  switch (error) {
    case ERROR_OPERATION_ABORTED:
    // Wine ends the requests of a socket closed under them with STATUS_HANDLES_CLOSED;
    // Windows with STATUS_CANCELLED (WSA_OPERATION_ABORTED). Both are aborts.
    case kErrorHandlesClosed:
      return -ECANCELED;
    case WSAECONNREFUSED:
    case ERROR_CONNECTION_REFUSED:
      return -ECONNREFUSED;
    case WSAECONNRESET:
    case ERROR_NETNAME_DELETED:
      return -ECONNRESET;
    case WSAECONNABORTED:
    case ERROR_CONNECTION_ABORTED:
      return -ECONNABORTED;
    case WSAENOTCONN:
      return -ENOTCONN;
    case WSAENOTSOCK:
    case ERROR_INVALID_HANDLE:
      return -EBADF;
    case WSAEINVAL:
      return -EINVAL;
    case WSAEADDRINUSE:
      return -EADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return -EADDRNOTAVAIL;
    case WSAENETUNREACH:
    case ERROR_NETWORK_UNREACHABLE:
      return -ENETUNREACH;
    case WSAEHOSTUNREACH:
    case ERROR_HOST_UNREACHABLE:
      return -EHOSTUNREACH;
    case WSAETIMEDOUT:
    case ERROR_SEM_TIMEOUT:
      return -ETIMEDOUT;
    case WSAEMSGSIZE:
      return -EMSGSIZE;
    case WSAESHUTDOWN:
    // A pipe whose other end is gone (a write's error; a read's is end-of-file).
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
      return -EPIPE;
    case WSAENOBUFS:
      return -ENOBUFS;
    case WSAENETDOWN:
      return -ENETDOWN;
    case WSAENETRESET:
      return -ENETRESET;
    default:
      // Win32 error codes are 16-bit (winerror.h).
      return -(kWindowsErrorBase + static_cast<int>(error & 0xFFFF));
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
