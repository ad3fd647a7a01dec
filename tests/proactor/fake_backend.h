// Test-only: a scripted Backend. The test decides, per submission, whether the operation
// goes pending, is done at once (IOCP: the result is known but the completion packet still
// comes, rule 2) or fails at once (no packet); which completions arrive, in what order
// and with which result; and what a cancellation yields. Nothing reaches the kernel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"
#include "operation_table.h"

namespace restrack_test {

using restrack::internal::Operation;
using restrack::internal::OperationKey;

// An operation that only counts what is done with it (hooks of the backend interface).
class CountingOperation final : public Operation {
 public:
  CountingOperation(restrack::NativeSocket fd, int* completions, int* abandons)
      : Operation(restrack::internal::OperationType::recv, fd),
        completions_(completions),
        abandons_(abandons) {}
  void complete(std::unique_ptr<Operation>) override { ++*completions_; }
  void abandon() noexcept override { ++*abandons_; }

 private:
  int* completions_;
  int* abandons_;
};

class FakeBackend final : public restrack::internal::Backend {
 public:
  enum class Start {
    pending,         // waits for complete()
    done_at_once,    // completes with the scripted result on the next poll (rule 2)
    failed_at_once,  // returned by submit() with the scripted result; no packet
  };

  // What cancel() does with an in-flight operation.
  enum class OnCancel {
    complete_cancelled,  // queues its completion with -ECANCELED
    record_only,         // nothing: the test delivers the late result itself
  };

  struct Observations {
    std::vector<OperationKey> submitted;  // every key handed out, in order
    // Every submit() call, in order, failed ones included: the operation's type, and whether
    // its descriptor was non-blocking then (rule 18).
    std::vector<restrack::internal::OperationType> submitted_types;
    std::vector<bool> submitted_nonblocking;
    std::vector<OperationKey> cancel_requests;  // every cancel() call, in order
    std::size_t polls = 0;
  };

  explicit FakeBackend(std::chrono::milliseconds close_deadline = std::chrono::milliseconds(0))
      : close_deadline_(close_deadline) {}

  // Scripts the next submission (later ones go pending unless scripted too).
  void script_next(Start start, int result = 0);
  void set_on_cancel(OnCancel on_cancel) { on_cancel_ = on_cancel; }

  // Queues a completion packet; poll() delivers packets in the order they were queued.
  // The key need not be in flight (rule 6 tests send stale ones).
  void complete(OperationKey key, int result);

  // The in-flight operation with `key`, or null.
  Operation* find(OperationKey key) { return table_.find(key); }

  const Observations& observations() const { return observations_; }
  bool closed() const { return closed_; }

  // Every wake() and close() call, in order: "wake entered", "wake left", "close".
  std::vector<std::string> events();
  // While set, wake() blocks after recording "wake entered" until it is cleared.
  void hold_wakes(bool hold);
  // Number of wake() calls so far.
  std::size_t wakes();

  restrack::internal::Submission submit(std::unique_ptr<Operation> operation) override;
  void cancel(OperationKey key) override;
  void poll(std::chrono::nanoseconds timeout,
            std::vector<std::unique_ptr<Operation>>& completed) override;
  void wake() noexcept override;
  void close() override;
  std::size_t in_flight() const noexcept override { return table_.size(); }
  std::string_view name() const noexcept override { return "fake"; }

 private:
  struct Script {
    Start start;
    int result;
  };
  struct Packet {
    OperationKey key;
    int result;
  };
  void deliver_packets(std::vector<std::unique_ptr<Operation>>& completed);

  std::chrono::milliseconds close_deadline_;
  restrack::internal::OperationTable table_;
  std::deque<Script> scripts_;
  std::deque<Packet> packets_;
  OnCancel on_cancel_ = OnCancel::complete_cancelled;
  Observations observations_;
  bool closed_ = false;

  std::mutex wake_mutex_;
  std::condition_variable woken_;
  bool wake_pending_ = false;        // guarded by wake_mutex_
  bool hold_wakes_ = false;          // guarded by wake_mutex_
  std::size_t wakes_ = 0;            // guarded by wake_mutex_
  std::vector<std::string> events_;  // guarded by wake_mutex_
};

}  // namespace restrack_test
