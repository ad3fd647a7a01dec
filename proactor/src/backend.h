// Internal: the I/O completion port an EventLoop runs on.
//
// A Backend is the proactor's kernel interface, in the vocabulary of a Windows I/O
// completion port: submit an operation, ask for its cancellation, poll for completions,
// close. `uring/` implements it with Linux io_uring and `iocp/` with an IOCP; the
// scripted backend of the tests implements it too. docs/proactor.md maps each verb to
// both kernels.
//
// A backend sees operations, their keys and their completions — never futures, tasks or
// the loop. Ownership: submit() takes the Operation. The backend keeps it (buffer
// included) until the kernel's completion for it has been reaped and then returns it from
// poll(); an operation that fails at once, with no completion to come, is returned by
// submit() itself (rule 2). Nothing else ever frees an in-flight operation (rule 1).
// Operations reaped while closing are handed to Operation::abandon(), never delivered.
//
// Every member except wake() is called on the loop's thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "operation.h"
#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
struct EventLoopOptions;
namespace internal {

// What submit() did with an operation.
struct Submission {
  // The key naming the operation while the backend owns it; kNoOperation if it failed.
  OperationKey key = kNoOperation;
  // Set when the operation finished at once with no completion to come: it failed
  // (`result` holds -errno), or, on IOCP, a pipe request ended at once in what counts as
  // its success (a read at end-of-file: 0; a pipe instance whose client was already
  // connected: 0). The caller delivers it (through the ready queue, rule 3).
  std::unique_ptr<Operation> failed;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Starts `operation`. On success the backend owns it until poll() returns it. Throws
  // LoopClosedError after close() (rule 10). If it throws, nothing reached the kernel.
  virtual Submission submit(std::unique_ptr<Operation> operation) = 0;

  // Asks the kernel to finish the operation early. Harmless for an unknown key, a
  // completed operation, or a second request (rule 4). The operation is still returned
  // by a later poll(), with whatever result the kernel gave it.
  virtual void cancel(OperationKey key) = 0;

  // Waits up to `timeout` (negative: without limit) for at least one completion or a
  // wake(), and appends every reaped operation to `completed`. Completions naming an
  // unknown key are logged at debug level and ignored (rule 6).
  virtual void poll(std::chrono::nanoseconds timeout,
                    std::vector<std::unique_ptr<Operation>>& completed) = 0;

  // Makes a poll() in progress (or the next one) return. Callable from any thread, until
  // the backend is destroyed (the loop makes sure no wake() is still running then).
  virtual void wake() noexcept = 0;

  // Cancels every operation in flight and reaps until none is left (rules 10, 13),
  // logging about once a second what is still pending. Operations reaped here are
  // abandoned (Operation::abandon): their completions are never delivered, and what a
  // successful result created is released (rule 11). An operation still pending at the
  // deadline is reported and deliberately leaked. Idempotent.
  virtual void close() = 0;

  // Operations submitted and not yet reaped.
  virtual std::size_t in_flight() const noexcept = 0;

  // "io_uring", "iocp", ...: shown in the event loop's description.
  virtual std::string_view name() const noexcept = 0;
};

// The platform's backend with the loop's settings (uring/ on Linux, iocp/ on Windows).
std::unique_ptr<Backend> make_platform_backend(const EventLoopOptions& options);

}  // namespace internal
RESTRACK_NAMESPACE_END
