// Internal: Operation, the proactor's "overlapped" record.
//
// One Operation describes one asynchronous request to the kernel: what to do (accept,
// connect, receive, send, ...), on which handle, with which buffer and address. The layer
// that creates it (sockets, transports) derives from it to carry its own future; the
// event loop hands it to the backend, which owns it — record, buffer and address — until
// the kernel's completion for it has been reaped (rule 1), whatever happens to the
// coroutine that awaited it. Cancelling only asks the kernel to finish early (rule 4).
//
// The backend sees only this class: the portable fields, the platform's own state
// (operation_state.h in the backend's folder), and two hooks — complete() runs when the
// loop delivers the operation, abandon() when the backend reaps it while closing.
//
// Operations are tracked resources of kind `operation`: while in flight each is in the
// live set with the trace of the code that submitted it, so a loop that cannot drain at
// close can say what is stuck and where it came from. Freeing an operation while the
// kernel may still write into it is a bug that rule 1 makes impossible; should it ever
// happen it is counted (operations_freed_in_flight()) and reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "operation_state.h"
#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/socket_platform.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Names an in-flight operation in the backend's table. Keys carry a generation, so a key
// is never reused while a completion may still name it (rule 6).
using OperationKey = std::uint64_t;
inline constexpr OperationKey kNoOperation = 0;

enum class OperationType : std::uint8_t {
  accept,    // result: the accepted socket
  connect,   // result: 0
  recv,      // result: bytes received into `buffer`
  send,      // result: bytes sent from `buffer` starting at `offset`
  sendto,    // result: bytes sent from `buffer` to `address`
  recvfrom,  // result: bytes received into `buffer`, sender into `address`
  // A stream handle that is not a socket — on Windows the end of a named pipe — read and
  // written as recv and send do a socket (ReadFile/WriteFile; read(2)/write(2) on Linux).
  // read's result: bytes read into `buffer`, 0 at end-of-file (the writer is gone); write's:
  // bytes written from `buffer` starting at `offset`, -EPIPE once the reader is gone.
  read,
  write,
  // Windows: waits until a client connects to the named pipe instance `handle`
  // (ConnectNamedPipe); result: 0 once one has, the instance itself being the connection.
  // A client that connected (or came and went) before the request is "already connected":
  // the request finishes at once with 0 and no completion (rule 2). io_uring has no such
  // request: the Linux backend refuses it at once with -EOPNOTSUPP.
  accept_pipe,
  // Waits until the process behind `handle` has exited (a pidfd on Linux, a process
  // HANDLE on Windows); result: positive once it has. Reaping is the caller's business.
  wait_process,
};

// "accept", "connect", ... as used in descriptions and logs.
std::string_view to_string(OperationType type) noexcept;

// The bytes an operation sends or receives into. Allocated without being zero-filled:
// a receive buffer is written by the kernel, a send buffer by assign().
// Small buffers come from the recycler (recycler.h).
class OperationBuffer {
 public:
  OperationBuffer() noexcept = default;
  OperationBuffer(const OperationBuffer&) = delete;
  OperationBuffer& operator=(const OperationBuffer&) = delete;
  ~OperationBuffer();

  // `size` bytes of unspecified content.
  void allocate(std::size_t size);
  void assign(std::string_view data);
  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view(std::size_t count) const noexcept { return {data_, count}; }

 private:
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

// The socket address of an operation that has one (connect, sendto: the destination;
// accept, recvfrom: the peer). Kept out of line: most operations are receives and sends on
// a connected socket, and every idle transport keeps a receive in flight.
struct OperationAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

class Operation {
 public:
  // Allocates `address` for the types that use one. `owner`, when given, is the Socket
  // that owns `handle` (see handle_owner).
  Operation(OperationType type, NativeSocket handle, const Socket* owner = nullptr);
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  // Counts and reports an operation freed while still in flight (a rule 1 violation).
  virtual ~Operation();

  // Operations come from the recycler (recycler.h): one of a few sizes, allocated and
  // freed for every request.
  static void* operator new(std::size_t size);
  static void operator delete(void* block, std::size_t size) noexcept;

  // Called by the event loop on its own thread with the reaped (or failed-at-once)
  // operation, never inside the call that submitted it (rule 3). It decides what happens
  // next: complete the future, swallow a late result (rule 4), or resubmit the remainder
  // of a short send (rule 26).
  virtual void complete(std::unique_ptr<Operation> self) = 0;

  // Called by a closing backend for an operation reaped after its loop stopped
  // delivering: complete() will never run. Releases what a successful result created
  // (rule 11: synchronously, the ready queue is gone) and lets its future know.
  virtual void abandon() noexcept = 0;

  // Called by the backend when the kernel takes the operation: registers it in the live
  // set (kind `operation`) with the caller's trace, and clears handle_owner. Calling it
  // again after a completion (a resubmitted send) registers it again.
  void mark_submitted() noexcept;
  // Called by the backend when the kernel's completion has been reaped, before handing
  // the operation back. `result` is the completion's value (bytes, a handle, or a failure:
  // -errno, result_error.h).
  void mark_reaped(int completion_result) noexcept;
  bool in_flight() const noexcept { return in_flight_; }

  // "recv fd=7 65536 bytes": what the operation is, for logs and reports.
  std::string describe() const;

  // Where it was submitted (kNoTrace when not in flight or not traced).
  TraceId submit_trace() const noexcept { return guard_.allocation_trace(); }

  const OperationType type;
  const NativeSocket handle;  // the caller keeps it open until the operation is done
  // The Socket that owns `handle`, when the submitter has one (a process wait has none).
  // The IOCP backend keeps there the note of the completion port the handle is bound to
  // (TrackedSocket::completion_port), so a handle is bound once, not at every request.
  // Only the first submission reads it: mark_submitted() clears it, since the owner may be
  // moved or gone by a resubmission (which needs no binding: the handle is bound already).
  const Socket* handle_owner = nullptr;
  OperationKey key = kNoOperation;  // assigned by the backend at submission
  int result = 0;                   // completion value; negative on failure (result_error.h)
  bool cancel_requested = false;    // set by the backend so it asks the kernel only once
  OperationBuffer buffer;           // data to send, or space to receive into
  std::size_t offset = 0;           // send: bytes of `buffer` already sent
  // Set for accept, connect, sendto and recvfrom only; null for the others.
  const std::unique_ptr<OperationAddress> address;
  PlatformOperationState platform;  // the backend's own per-operation state

 private:
  bool in_flight_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
