// Internal: the io_uring implementation of Backend. How each verb maps to io_uring (and to
// IOCP) is described in docs/proactor.md. Declared here for the tests that drive it
// directly; the loop creates it through make_platform_backend().
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "backend.h"
#include "operation_table.h"
#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

class UringBackend final : public Backend {
 public:
  // Sets up the ring. Throws std::invalid_argument for a queue_depth out of range,
  // BackendUnavailableError naming the cause and the kernel requirement (Linux 5.11 or
  // later, io_uring not disabled) when the kernel refuses.
  explicit UringBackend(const UringOptions& options);
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;
  ~UringBackend() override;

  Submission submit(std::unique_ptr<Operation> operation) override;
  void cancel(OperationKey key) override;
  void poll(std::chrono::nanoseconds timeout,
            std::vector<std::unique_ptr<Operation>>& completed) override;
  void wake() noexcept override;
  void close() override;
  std::size_t in_flight() const noexcept override { return table_.size(); }
  std::string_view name() const noexcept override { return "io_uring"; }

  // For tests: the next submit() fails where the operation table would throw.
  void fail_next_insert_for_test() noexcept { fail_next_insert_ = true; }
  // For tests: submission entries prepared but not yet handed to the kernel.
  unsigned unsubmitted_entries_for_test() noexcept;

  // True in a child forked from the process that set the ring up: the ring is not this
  // process's to use.
  bool in_forked_child() const noexcept;

  // The largest submission queue the kernel accepts (IORING_MAX_ENTRIES).
  static constexpr unsigned kMaxQueueDepth = 32768;

 private:
  int set_up_ring();
  // Makes sure io_uring_get_sqe() will succeed, handing a full queue to the kernel. Takes
  // no entry: an entry is prepared the moment it is taken, so the kernel never sees a
  // stale one whatever throws.
  void reserve_entry();
  io_uring_sqe* take_entry() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // reserve_entry() made room, so there is an entry; said so for the optimizer, which
    // otherwise warns (-Wnull-dereference) inside liburing's inline helpers at -O2.
    if (sqe == nullptr) __builtin_unreachable();
    return sqe;
  }
  void prepare(io_uring_sqe* sqe, Operation& operation);
  void arm_wake_read();
  void wait(std::chrono::nanoseconds timeout);
  void reap(std::vector<std::unique_ptr<Operation>>& completed);

  // Throws std::logic_error naming both processes in a forked child.
  void refuse_in_forked_child(const char* what) const;

  UringOptions options_;
  int owner_pid_ = 0;              // the process that set the ring up
  unsigned owner_generation_ = 0;  // forks counted when it did (see in_forked_child)
  io_uring ring_{};
  unsigned features_ = 0;
  int wake_fd_ = -1;
  std::unique_ptr<std::uint64_t> wake_value_ = std::make_unique<std::uint64_t>(0);
  bool wake_armed_ = false;
  bool closed_ = false;
  bool fail_next_insert_ = false;
  OperationTable table_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
