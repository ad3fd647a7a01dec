// The I/O completion port implementation of Backend. How each verb maps to IOCP calls is
// described in docs/proactor.md.
#include "iocp_backend.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <system_error>
#include <type_traits>

#include "log.h"
#include "restrack/proactor/errors.h"
#include "winsock_runtime.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The completion key of the loop's wake-up packets (they carry no OVERLAPPED). Sockets are
// associated with key 0: operations are found through their OVERLAPPED, not the key.
constexpr ULONG_PTR kWakeKey = 1;

// Packets dequeued per GetQueuedCompletionStatusEx call.
constexpr ULONG kEntriesPerWait = 64;

// A packet's OVERLAPPED pointer is the address of the operation's PlatformOperationState.
static_assert(std::is_standard_layout_v<PlatformOperationState> &&
                  offsetof(PlatformOperationState, overlapped) == 0,
              "the OVERLAPPED must be the first member of the operation's state");

HANDLE as_handle(SOCKET socket) noexcept { return reinterpret_cast<HANDLE>(socket); }

// Winsock's answer to an overlapped call: 0 if the request is done or pending (its packet
// will come), else the error of a request that failed at once. A request done at once has
// its packet queued already.
DWORD started(int call_result, PlatformOperationState& state) noexcept {
  const int error = call_result == 0 ? 0 : ::WSAGetLastError();
  // WSAEMSGSIZE: a datagram longer than the buffer filled it. The status behind it is a
  // warning, so the request is done and its packet queued as for a success (finish()
  // truncates it, as recvmsg does on Linux).
  if (error == 0 || error == WSAEMSGSIZE) {
    state.packet_queued = true;
    return 0;
  }
  return error == WSA_IO_PENDING ? 0 : static_cast<DWORD>(error);
}

// The same for the Win32 file calls (ReadFile, WriteFile, ConnectNamedPipe).
DWORD file_started(BOOL done, PlatformOperationState& state) noexcept {
  if (done) {
    state.packet_queued = true;
    return 0;
  }
  const DWORD error = ::GetLastError();
  return error == ERROR_IO_PENDING ? 0 : error;
}

// The result of a request that ended with `error` (not 0), at once or in its packet. A read
// whose writer is gone is at end-of-file; a pipe instance whose client connected before
// ConnectNamedPipe (and maybe left already) is connected.
int ended_with(OperationType type, DWORD error) noexcept {
  if (type == OperationType::read &&
      (error == ERROR_BROKEN_PIPE || error == ERROR_PIPE_NOT_CONNECTED || error == ERROR_NO_DATA)) {
    return 0;
  }
  if (type == OperationType::accept_pipe &&
      (error == ERROR_PIPE_CONNECTED || error == ERROR_NO_DATA)) {
    return 0;
  }
  return error_result(error);
}

DWORD wait_milliseconds(std::chrono::nanoseconds timeout) noexcept {
  if (timeout.count() < 0) return INFINITE;
  const auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  return milliseconds >= static_cast<long long>(INFINITE) ? INFINITE - 1
                                                          : static_cast<DWORD>(milliseconds);
}

}  // namespace

IocpBackend::IocpBackend(const IocpOptions& options) : options_(options) {
  winsock_runtime();
  port_ = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port_ == nullptr) {
    const DWORD error = ::GetLastError();
    throw BackendUnavailableError(
        "restrack: cannot create the IOCP event loop backend: CreateIoCompletionPort failed: " +
        std::system_category().message(static_cast<int>(error)) + " (Windows error " +
        std::to_string(error) + ")");
  }
}

IocpBackend::~IocpBackend() {
  try {
    close();
  } catch (const std::exception& error) {
    proactor_logger().error("closing the IOCP backend failed: {}", error.what());
  }
  ::CloseHandle(port_);
}

Submission IocpBackend::submit(std::unique_ptr<Operation> operation) {
  if (closed_) {
    throw LoopClosedError("IOCP backend is closed: no operation can be submitted after close()");
  }
  PlatformOperationState& state = operation->platform;
  if (operation->type == OperationType::accept && state.accept_addresses.empty()) {
    state.accept_addresses.resize(PlatformOperationState::kAcceptAddressesSize);
  }
  Operation& submitted = *operation;
  // Read before insert() marks the operation submitted, which clears it.
  const Socket* owner = submitted.handle_owner;
  const OperationKey key = table_.insert(std::move(operation));
  state.key = key;
  state.overlapped = OVERLAPPED{};
  state.packet_queued = false;
  // Nothing below throws.
  const DWORD error = start(submitted, owner);
  if (error == 0) {
    if (state.packet_queued) {
      ++done_at_once_;
      ++packets_queued_;
    }
    return Submission{key, nullptr};
  }
  // Rule 2: a request that ended at once with an error queues no packet; it is not kept.
  // (For a pipe that error can be the request's end: end-of-file, already connected.)
  return Submission{kNoOperation, table_.reap(key, ended_with(submitted.type, error))};
}

DWORD IocpBackend::associate(Operation& operation, const Socket* owner) {
  PlatformOperationState& state = operation.platform;
  // Started on this port before (a resubmitted send, a transport's kept receive): the
  // handle, which an operation never changes, is bound already.
  if (state.port == port_) return 0;
  if (owner != nullptr) {
    void* const noted = owner->completion_port();
    if (noted == port_) {
      state.port = port_;
      return 0;
    }
    // Bound to another loop's port for the handle's life: its packets would never come here.
    if (noted != nullptr) return ERROR_INVALID_PARAMETER;
  }
  ++associations_;
  if (::CreateIoCompletionPort(as_handle(operation.handle), port_, 0, 0) == nullptr) {
    const DWORD error = ::GetLastError();
    // ERROR_INVALID_PARAMETER: bound already, though nobody noted it (an operation without
    // an owner, a socket released and owned anew). Taken to be this port: Windows does not
    // say which, and a handle bound to another one has its packets go there.
    if (error != ERROR_INVALID_PARAMETER) return error;
  }
  state.port = port_;
  if (owner != nullptr) owner->note_completion_port(port_);
  return 0;
}

DWORD IocpBackend::start(Operation& operation, const Socket* owner) {
  // A process handle is waited on, never associated with the port.
  if (operation.type != OperationType::wait_process) {
    if (const DWORD error = associate(operation, owner); error != 0) return error;
  }
  PlatformOperationState& state = operation.platform;
  switch (operation.type) {
    case OperationType::accept:
      return start_accept(operation);
    case OperationType::connect:
      return start_connect(operation);
    case OperationType::recv:
      state.io = WSABUF{static_cast<ULONG>(operation.buffer.size()), operation.buffer.data()};
      state.flags = 0;
      return started(::WSARecv(operation.handle, &state.io, 1, nullptr, &state.flags,
                               &state.overlapped, nullptr),
                     state);
    case OperationType::send:
      state.io = WSABUF{static_cast<ULONG>(operation.buffer.size() - operation.offset),
                        operation.buffer.data() + operation.offset};
      return started(
          ::WSASend(operation.handle, &state.io, 1, nullptr, 0, &state.overlapped, nullptr), state);
    case OperationType::sendto:
      state.io = WSABUF{static_cast<ULONG>(operation.buffer.size()), operation.buffer.data()};
      return started(::WSASendTo(operation.handle, &state.io, 1, nullptr, 0,
                                 reinterpret_cast<const sockaddr*>(&operation.address->storage),
                                 operation.address->length, &state.overlapped, nullptr),
                     state);
    case OperationType::recvfrom:
      state.io = WSABUF{static_cast<ULONG>(operation.buffer.size()), operation.buffer.data()};
      state.flags = 0;
      state.address_length = sizeof operation.address->storage;
      return started(::WSARecvFrom(operation.handle, &state.io, 1, nullptr, &state.flags,
                                   reinterpret_cast<sockaddr*>(&operation.address->storage),
                                   &state.address_length, &state.overlapped, nullptr),
                     state);
    case OperationType::read:
      return file_started(
          ::ReadFile(as_handle(operation.handle), operation.buffer.data(),
                     static_cast<DWORD>(operation.buffer.size()), nullptr, &state.overlapped),
          state);
    case OperationType::write:
      return file_started(
          ::WriteFile(as_handle(operation.handle), operation.buffer.data() + operation.offset,
                      static_cast<DWORD>(operation.buffer.size() - operation.offset), nullptr,
                      &state.overlapped),
          state);
    case OperationType::accept_pipe:
      return file_started(::ConnectNamedPipe(as_handle(operation.handle), &state.overlapped),
                          state);
    case OperationType::wait_process:
      return start_wait(operation);
  }
  return ERROR_INVALID_FUNCTION;
}

DWORD IocpBackend::start_accept(Operation& operation) {
  PlatformOperationState& state = operation.platform;
  sockaddr_storage local{};
  int length = sizeof local;
  if (::getsockname(operation.handle, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    return static_cast<DWORD>(::WSAGetLastError());
  }
  // AcceptEx accepts into a socket created beforehand, of the listener's family.
  state.accept_socket = ::WSASocketW(local.ss_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                     WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (state.accept_socket == INVALID_SOCKET) return static_cast<DWORD>(::WSAGetLastError());
  DWORD bytes = 0;
  const BOOL done = winsock_runtime().accept_ex(
      operation.handle, state.accept_socket, state.accept_addresses.data(), 0,
      PlatformOperationState::kAcceptAddressSize, PlatformOperationState::kAcceptAddressSize,
      &bytes, &state.overlapped);
  const DWORD error = started(done ? 0 : SOCKET_ERROR, state);
  if (error != 0) {
    ::closesocket(state.accept_socket);
    state.accept_socket = INVALID_SOCKET;
  }
  return error;
}

DWORD IocpBackend::start_connect(Operation& operation) {
  const auto* target = reinterpret_cast<const sockaddr*>(&operation.address->storage);
  sockaddr_storage bound{};
  int length = sizeof bound;
  if (::getsockname(operation.handle, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    // ConnectEx needs a bound socket: the wildcard address of the target's family, any port.
    sockaddr_storage any{};
    any.ss_family = static_cast<decltype(any.ss_family)>(target->sa_family);
    const int any_length =
        target->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(operation.handle, reinterpret_cast<const sockaddr*>(&any), any_length) != 0) {
      return static_cast<DWORD>(::WSAGetLastError());
    }
  }
  const BOOL done =
      winsock_runtime().connect_ex(operation.handle, target, operation.address->length, nullptr, 0,
                                   nullptr, &operation.platform.overlapped);
  return started(done ? 0 : SOCKET_ERROR, operation.platform);
}

namespace {

// Runs on the wait thread once the handle is signalled: posts the operation's packet unless
// cancel() claimed the operation first. The operation stays the backend's until the packet
// is dequeued (rules 1, 7).
void CALLBACK on_wait_signalled(void* context, BOOLEAN) {
  auto* state = static_cast<PlatformOperationState*>(context);
  if (state->wait_claimed.exchange(true)) return;
  ::PostQueuedCompletionStatus(state->port, 1, 0, &state->overlapped);
}

}  // namespace

DWORD IocpBackend::start_wait(Operation& operation) {
  PlatformOperationState& state = operation.platform;
  state.port = port_;
  state.wait_claimed.store(false);
  state.wait_cancelled = false;
  if (::RegisterWaitForSingleObject(&state.wait, as_handle(operation.handle), &on_wait_signalled,
                                    &state, INFINITE,
                                    WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD) == 0) {
    state.wait = nullptr;
    return ::GetLastError();
  }
  return 0;
}

void IocpBackend::unregister_wait(PlatformOperationState& state) noexcept {
  if (state.wait == nullptr) return;
  // INVALID_HANDLE_VALUE: returns once the callback, if it is running, has returned, so
  // the unregistration is confirmed before the operation can be freed. The callback only
  // posts a packet: the wait is short, and the loop's thread never runs it.
  ::UnregisterWaitEx(state.wait, INVALID_HANDLE_VALUE);
  state.wait = nullptr;
}

void IocpBackend::cancel(OperationKey key) {
  Operation* operation = table_.find(key);
  // Rule 4: cancelling a completed operation, or twice, is harmless.
  if (operation == nullptr || operation->cancel_requested) return;
  operation->cancel_requested = true;
  PlatformOperationState& state = operation->platform;
  if (operation->type == OperationType::wait_process) {
    // Rule 7: the wait is unregistered. If the callback did not post the packet, it is
    // posted here: either way the key stays alive until its one packet is dequeued.
    unregister_wait(state);
    if (!state.wait_claimed.exchange(true)) {
      state.wait_cancelled = true;
      if (::PostQueuedCompletionStatus(port_, 0, 0, &state.overlapped) != 0) {
        state.packet_queued = true;
        ++packets_queued_;
      }
    }
    return;
  }
  // ERROR_NOT_FOUND: the request finished meanwhile; its packet is queued all the same.
  ::CancelIoEx(as_handle(operation->handle), &state.overlapped);
}

void IocpBackend::poll(std::chrono::nanoseconds timeout,
                       std::vector<std::unique_ptr<Operation>>& completed) {
  reap(timeout, completed);
}

void IocpBackend::wake() noexcept {
  // Coalesced: one wake-up packet on its way is enough; reap() clears the flag when it
  // dequeues it.
  if (wake_posted_.exchange(true, std::memory_order_acq_rel)) return;
  wake_packets_posted_.fetch_add(1, std::memory_order_relaxed);
  if (::PostQueuedCompletionStatus(port_, 0, kWakeKey, nullptr) == 0) {
    wake_posted_.store(false, std::memory_order_release);
  }
}

void IocpBackend::close() {
  if (closed_) return;
  closed_ = true;
  DrainHooks hooks;
  hooks.cancel = [this](OperationKey key) { cancel(key); };
  hooks.reap_and_abandon = [this](std::chrono::nanoseconds timeout) {
    std::vector<std::unique_ptr<Operation>> reaped;
    reap(timeout, reaped);
    // Rule 13: abandoned handlers are destroyed, not invoked.
    for (std::unique_ptr<Operation>& operation : reaped) operation->abandon();
  };
  // Wake-up packets hold no memory of ours: nothing of the backend's own stays in flight.
  hooks.internal_pending = [] { return false; };
  cancel_and_drain(table_, options_.close_deadline, hooks);
}

void IocpBackend::reap(std::chrono::nanoseconds timeout,
                       std::vector<std::unique_ptr<Operation>>& completed) {
  OVERLAPPED_ENTRY entries[kEntriesPerWait];
  // Only as many as are known to be queued (requests done at once, waits cancel() posted),
  // or one. Wine takes packets one server request at a time until it has all it asked for
  // or finds none, so an ask beyond what is queued costs a request that finds nothing.
  // What is left stays queued and makes the next poll return at once. (Requests that finish
  // while pending therefore come one per call, as Asio dequeues every packet on Windows.)
  const auto wanted =
      static_cast<ULONG>(std::clamp<std::size_t>(packets_queued_, 1, kEntriesPerWait));
  ULONG count = 0;
  if (::GetQueuedCompletionStatusEx(port_, entries, wanted, &count, wait_milliseconds(timeout),
                                    FALSE) == 0) {
    const DWORD error = ::GetLastError();
    if (error == WAIT_TIMEOUT) return;
    throw std::system_error(static_cast<int>(error), std::system_category(),
                            "GetQueuedCompletionStatusEx");
  }
  if (count < wanted) ++short_dequeues_;
  for (ULONG i = 0; i < count; ++i) {
    const OVERLAPPED_ENTRY& entry = entries[i];
    if (entry.lpOverlapped == nullptr) {
      if (entry.lpCompletionKey == kWakeKey) wake_posted_.store(false, std::memory_order_release);
      continue;
    }
    const auto* state = reinterpret_cast<const PlatformOperationState*>(entry.lpOverlapped);
    const OperationKey key = state->key;
    Operation* operation = table_.find(key);
    if (operation == nullptr || &operation->platform != state) {
      // Rule 6: a packet naming nothing we hold is noise, never a crash.
      proactor_logger().debug("ignoring a completion packet for unknown operation key {:#x}", key);
      continue;
    }
    if (operation->platform.packet_queued) --packets_queued_;
    const int result = finish(*operation, entry);
    completed.push_back(table_.reap(key, result));
  }
}

int IocpBackend::finish(Operation& operation, const OVERLAPPED_ENTRY& entry) noexcept {
  PlatformOperationState& state = operation.platform;
  if (operation.type == OperationType::wait_process) {
    // Release the one-shot wait (already done if cancel() posted the packet).
    unregister_wait(state);
    return state.wait_cancelled ? -ECANCELED : 1;
  }
  const DWORD bytes = entry.dwNumberOfBytesTransferred;
  // The packet's OVERLAPPED carries the request's NTSTATUS. It is translated without
  // asking the socket (WSAGetOverlappedResult would), which may be closed by now:
  // closesocket aborts its requests, whose packets still come.
  DWORD error = status_error(state.overlapped.Internal);
  // A datagram longer than the buffer is truncated, as recvmsg does on Linux.
  if (error == ERROR_MORE_DATA &&
      (operation.type == OperationType::recv || operation.type == OperationType::recvfrom)) {
    error = 0;
  }
  switch (operation.type) {
    case OperationType::accept: {
      const SOCKET accepted = state.accept_socket;
      state.accept_socket = INVALID_SOCKET;
      const SOCKET listener = operation.handle;
      if (error == 0 &&
          ::setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                       reinterpret_cast<const char*>(&listener), sizeof listener) != 0) {
        error = static_cast<DWORD>(::WSAGetLastError());
      }
      // Results are ints: a SOCKET is a kernel handle, whose value Windows keeps within
      // 32 bits (handles are shared with 32-bit processes).
      if (error == 0 && accepted > static_cast<SOCKET>(INT_MAX)) error = ERROR_INVALID_HANDLE;
      if (error != 0) {
        // Rule 11: the pre-created socket is closed here, synchronously — also while the
        // backend closes, when no ready queue is left to do it later.
        ::closesocket(accepted);
        return error_result(error);
      }
      int length = sizeof operation.address->storage;
      if (::getpeername(accepted, reinterpret_cast<sockaddr*>(&operation.address->storage),
                        &length) == 0) {
        operation.address->length = length;
      }
      return static_cast<int>(accepted);
    }
    case OperationType::connect:
      if (error == 0 &&
          ::setsockopt(operation.handle, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) != 0) {
        error = static_cast<DWORD>(::WSAGetLastError());
      }
      return error != 0 ? error_result(error) : 0;
    case OperationType::recvfrom:
      if (error == 0) operation.address->length = state.address_length;
      break;
    case OperationType::recv:
    case OperationType::send:
    case OperationType::sendto:
    case OperationType::read:
    case OperationType::write:
    case OperationType::accept_pipe:
    case OperationType::wait_process:
      break;
  }
  return error != 0 ? ended_with(operation.type, error) : static_cast<int>(bytes);
}

std::unique_ptr<Backend> make_platform_backend(const EventLoopOptions& options) {
  return std::make_unique<IocpBackend>(options.iocp);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
