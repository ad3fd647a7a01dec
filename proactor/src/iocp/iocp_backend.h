// Internal: the I/O completion port implementation of Backend (Windows). How each verb
// maps to IOCP calls is described in docs/proactor.md. Declared here for the tests that
// drive it directly; the loop creates it through make_platform_backend().
//
// Rule 2 as implemented: no handle — socket or pipe — is switched to
// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS. A request that succeeds at once therefore still
// queues exactly one packet, and the operation stays in the table until poll() reaps it;
// one that fails at once queues none and submit() hands it back with its error. On a pipe
// some such errors are the request's end rather than a failure: ERROR_BROKEN_PIPE (and
// ERROR_PIPE_NOT_CONNECTED, ERROR_NO_DATA) on a read is end-of-file (0), and
// ConnectNamedPipe's ERROR_PIPE_CONNECTED (or ERROR_NO_DATA: the client came and went) is
// "connected" (0); a write whose reader is gone fails with -EPIPE.
#pragma once

#include <winsock2.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "backend.h"
#include "operation_table.h"
#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

class IocpBackend final : public Backend {
 public:
  // Creates the port (CreateIoCompletionPort) and starts Winsock. Throws
  // BackendUnavailableError naming the Windows error when the port cannot be created.
  explicit IocpBackend(const IocpOptions& options);
  IocpBackend(const IocpBackend&) = delete;
  IocpBackend& operator=(const IocpBackend&) = delete;
  ~IocpBackend() override;

  Submission submit(std::unique_ptr<Operation> operation) override;
  void cancel(OperationKey key) override;
  void poll(std::chrono::nanoseconds timeout,
            std::vector<std::unique_ptr<Operation>>& completed) override;
  void wake() noexcept override;
  void close() override;
  std::size_t in_flight() const noexcept override { return table_.size(); }
  std::string_view name() const noexcept override { return "iocp"; }

  // For tests: submissions whose request finished at once (success; its packet still
  // comes, rule 2).
  std::size_t done_at_once_for_test() const noexcept { return done_at_once_; }
  // For tests: CreateIoCompletionPort calls made to bind a handle to the port (one per
  // socket or pipe handle, at its first operation on this backend).
  std::size_t associations_for_test() const noexcept { return associations_; }
  // For tests: dequeues that came back with fewer packets than they asked for (under Wine
  // each of them cost a server request that found nothing).
  std::size_t short_dequeues_for_test() const noexcept { return short_dequeues_; }
  // For tests: wake-up packets posted to the port so far (wake() coalesces: one until the
  // loop has dequeued it).
  std::size_t wake_packets_posted_for_test() const noexcept {
    return wake_packets_posted_.load(std::memory_order_relaxed);
  }

 private:
  // Starts the request; returns 0 if it is pending or done (a packet will come), else
  // the Windows error of a request that failed at once (no packet). Counts the ones done
  // at once.
  DWORD start(Operation& operation, const Socket* owner);
  DWORD start_accept(Operation& operation);
  DWORD start_connect(Operation& operation);
  DWORD start_wait(Operation& operation);
  // Rule 7: unregisters a wait, waiting for a callback that is running to return.
  static void unregister_wait(PlatformOperationState& state) noexcept;
  // Binds the operation's handle to the port unless it is bound already: the operation was
  // started on this port before, or its owner's note (TrackedSocket::completion_port) names
  // this port. Notes the port in the owner. Returns 0, or the error of a handle that cannot
  // be bound here (bound to another port: ERROR_INVALID_PARAMETER).
  DWORD associate(Operation& operation, const Socket* owner);
  // Dequeues packets, waiting up to `timeout` for the first, and appends the operations
  // they finish to `completed`.
  void reap(std::chrono::nanoseconds timeout, std::vector<std::unique_ptr<Operation>>& completed);
  // The result of a finished request: bytes, the accepted socket, or an error result.
  int finish(Operation& operation, const OVERLAPPED_ENTRY& entry) noexcept;

  IocpOptions options_;
  HANDLE port_ = nullptr;
  std::atomic<bool> wake_posted_{false};
  std::atomic<std::size_t> wake_packets_posted_{0};
  std::size_t done_at_once_ = 0;
  std::size_t associations_ = 0;
  std::size_t short_dequeues_ = 0;
  // Packets queued for certain and not yet dequeued: requests done at once, waits whose
  // packet cancel() posted (PlatformOperationState::packet_queued). reap() asks for that
  // many.
  std::size_t packets_queued_ = 0;
  bool closed_ = false;
  OperationTable table_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
