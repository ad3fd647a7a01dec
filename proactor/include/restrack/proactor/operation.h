// restrack/proactor/operation.h — Operation, the proactor's "overlapped" record.
//
// One Operation describes one asynchronous request to the kernel: what to do (accept,
// connect, receive, send, ...), on which descriptor, with which buffer and address, and
// which future to complete. The event loop builds it and hands it to the backend with
// Backend::submit(); from then on the backend owns it — record, buffer and address —
// until the kernel's completion for it has been reaped (rule 1), whatever happens to the
// coroutine that awaited it. Cancelling only asks the kernel to finish early (rule 4).
//
// Operations are tracked resources of kind `operation`: while in flight each is in the
// live set with the trace of the code that submitted it, so a loop that cannot drain at
// close can say what is stuck and where it came from. Freeing an operation while the
// kernel may still write into it is a bug that rule 1 makes impossible; should it ever
// happen it is counted (operations_freed_in_flight()) and reported.
//
// Backends read and write the public fields; user code never sees an Operation.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "restrack/config.h"
#include "restrack/guard.h"

RESTRACK_NAMESPACE_BEGIN

class EventLoop;
class FutureBase;

// Names an in-flight operation in the backend's table. Keys carry a generation, so a key
// is never reused while a completion may still name it (rule 6).
using OperationKey = std::uint64_t;
inline constexpr OperationKey kNoOperation = 0;

enum class OperationType : std::uint8_t {
  accept,    // result: the accepted descriptor
  connect,   // result: 0
  recv,      // result: bytes received into `buffer`
  send,      // result: bytes sent from `buffer` starting at `offset`
  sendto,    // result: bytes sent, through `message` (buffer to `address`)
  recvfrom,  // result: bytes received, through `message` (sender into `address`)
};

// "accept", "connect", ... as used in descriptions and logs.
std::string_view to_string(OperationType type) noexcept;

class Operation {
 public:
  // Delivers a reaped (or failed-at-once) operation to its future. Called by the event
  // loop on its own thread, never inside the call that submitted the operation (rule 3).
  // The function decides what happens next: complete the future, swallow a late result
  // (rule 4), or resubmit the remainder of a short send (rule 26).
  using CompleteFn = void (*)(std::unique_ptr<Operation> operation, EventLoop& loop);

  Operation(OperationType type, int fd, CompleteFn complete,
            std::shared_ptr<FutureBase> future) noexcept;
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  // Counts and reports an operation freed while still in flight (a rule 1 violation).
  ~Operation();

  // Called by the backend when the kernel takes the operation: registers it in the live
  // set (kind `operation`) with the caller's trace. Calling it again after a completion
  // (a resubmitted send) registers it again.
  void mark_submitted() noexcept;
  // Called by the backend when the kernel's completion has been reaped, before handing
  // the operation back. `result` is the completion's value (bytes, a descriptor, or
  // -errno).
  void mark_reaped(int completion_result) noexcept;
  bool in_flight() const noexcept { return in_flight_; }

  // Releases what a successful result created but nobody will receive: the descriptor of
  // an accept whose future is already done, or that completed while the loop was closing
  // (rule 11: this runs synchronously, not through the ready queue).
  void discard_result() noexcept;

  // "recv fd=7 65536 bytes": what the operation is, for logs and reports.
  std::string describe() const;

  // Where it was submitted (kNoTrace when not in flight or not traced).
  TraceId submit_trace() const noexcept { return guard_.allocation_trace(); }

  OperationType type;
  int fd;                           // the descriptor it works on; the caller keeps it open
  OperationKey key = kNoOperation;  // assigned by the backend at submission
  int result = 0;                   // completion value; -errno on failure
  bool cancel_requested = false;    // set by the backend so it asks the kernel only once
  std::string buffer;               // data to send, or space to receive into
  std::size_t offset = 0;           // send: bytes of `buffer` already sent
  sockaddr_storage address{};       // connect/sendto: destination; accept/recvfrom: peer
  socklen_t address_length = 0;
  msghdr message{};  // sendto/recvfrom: points at `buffer`/`io`/`address`
  iovec io{};
  std::shared_ptr<FutureBase> future;  // completed by `complete`
  CompleteFn complete;

 private:
  bool in_flight_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

// Number of operations destroyed while the kernel could still write into them, since the
// process started. Rule 1 makes this impossible; test suites assert that it stays zero.
std::uint64_t operations_freed_in_flight() noexcept;

RESTRACK_NAMESPACE_END
