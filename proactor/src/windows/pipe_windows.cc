// Pipes on Windows: named pipes (\\.\pipe\name), overlapped, in byte mode. Each instance
// serves one client: the server keeps one free instance waiting in ConnectNamedPipe (the
// backend's accept_pipe) and makes the next before handing a connected one out. A client
// opens the name with CreateFile, which never waits: a pipe whose instances are all taken
// answers ERROR_PIPE_BUSY, and connect_pipe retries on loop timers (rule 17).
#include <winsock2.h>

#include <windows.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "pipe_calls.h"
#include "platform/windows_text.h"
#include "restrack/kind.h"
#include "restrack/proactor/pipe.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

// Bytes the pipe buffers each way, as the transports read (64 KiB at a time).
constexpr DWORD kPipeBufferSize = DWORD{64} << 10;

// A new instance of the pipe, or INVALID_HANDLE_VALUE. The first one claims the name: it
// fails if any instance of it exists (rule 14).
HANDLE create_instance(const std::wstring& name, bool first) noexcept {
  return ::CreateNamedPipeW(
      name.c_str(),
      PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
      PIPE_UNLIMITED_INSTANCES, kPipeBufferSize, kPipeBufferSize, 0, nullptr);
}

[[noreturn]] void throw_pipe_error(DWORD error, const std::string& name, const char* what) {
  throw std::system_error(static_cast<int>(error), std::system_category(),
                          "pipe server " + name + ": " + what);
}

// True if an instance of the pipe exists: WaitNamedPipe looks (for at most 1 ms, when
// every instance is taken) and connects nothing.
bool pipe_exists(const std::wstring& name) noexcept {
  return ::WaitNamedPipeW(name.c_str(), 1) || ::GetLastError() == ERROR_SEM_TIMEOUT;
}

}  // namespace

PipeListener listen_on_pipe(const std::string& name, int) {
  const std::wstring wide_name = utf8_to_wide(name);
  // FILE_FLAG_FIRST_PIPE_INSTANCE below makes the name ours on Windows; Wine 8 ignores the
  // flag (docs/windows.md), so a name that is being served is looked for first.
  if (pipe_exists(wide_name)) {
    throw PipeNameInUseError("pipe server " + name + ": the name is already being served");
  }
  HANDLE first = create_instance(wide_name, true);
  if (first == INVALID_HANDLE_VALUE) {
    const DWORD error = ::GetLastError();
    // FILE_FLAG_FIRST_PIPE_INSTANCE: an instance of the name exists, so another server
    // serves it.
    if (error == ERROR_ACCESS_DENIED) {
      throw PipeNameInUseError("pipe server " + name + ": the name is already being served");
    }
    throw_pipe_error(error, name, "CreateNamedPipe");
  }
  PipeListener listener;
  listener.socket = Socket::from_handle(first, kinds::pipe);
  listener.next_instance = [wide_name, name] {
    HANDLE next = create_instance(wide_name, false);
    if (next == INVALID_HANDLE_VALUE) {
      throw_pipe_error(::GetLastError(), name, "CreateNamedPipe for the next instance");
    }
    return Socket::from_handle(next, kinds::pipe);
  };
  return listener;
}

Socket open_pipe_socket() { return Socket(); }

PipeConnectAttempt pipe_connect_attempt(const std::string& name) {
  return [wide_name = utf8_to_wide(name), name](EventLoop& loop, SocketTransport& transport) {
    Future<void> connected = Future<void>::create(loop);
    // SECURITY_IDENTIFICATION: the server may learn who connected, not act as them.
    HANDLE handle = ::CreateFileW(
        wide_name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
    if (handle == INVALID_HANDLE_VALUE) {
      const DWORD error = ::GetLastError();
      const int code = error == ERROR_FILE_NOT_FOUND ? ENOENT : static_cast<int>(error);
      connected.set_exception(std::make_exception_ptr(
          std::system_error(code, std::system_category(), "connect to pipe " + name)));
      return connected;
    }
    transport.attach(Socket::from_handle(handle, kinds::pipe));
    connected.set_result();
    return connected;
  };
}

bool is_pipe_busy(int error) noexcept { return error == ERROR_PIPE_BUSY; }

}  // namespace internal
RESTRACK_NAMESPACE_END
