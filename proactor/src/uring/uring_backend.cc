// The io_uring implementation of Backend. How each verb maps to io_uring (and to IOCP)
// is described in docs/proactor.md.
#include "uring_backend.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "log.h"
#include "restrack/proactor/errors.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// user_data of the backend's own requests; their slot indices are never issued.
constexpr OperationKey kWakeReadKey = ~OperationKey{0};
constexpr OperationKey kCancelKey = ~OperationKey{0} - 1;
static_assert((kCancelKey & 0xFFFF'FFFFu) >= OperationTable::kFirstReservedIndex,
              "the backend's own keys must never name an operation");

// The offset of a read or write at the file position, which pipes and sockets do not have.
constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};

// Linux 5.11 brought IORING_FEAT_EXT_ARG (waiting with a timeout without an extra timeout
// request); every operation used here is older.
constexpr const char* kKernelRequirement =
    "the proactor needs Linux 5.11 or later with io_uring enabled";

std::string setup_failure_message(int error) {
  std::string message = "restrack: cannot create the io_uring event loop backend: ";
  message += "io_uring_queue_init_params failed: ";
  message += std::strerror(error);
  message += "; ";
  message += kKernelRequirement;
  switch (error) {
    case ENOSYS:
      message += " (this kernel has no io_uring support)";
      break;
    case EPERM:
    case EACCES:
      message +=
          " (io_uring is refused: check the sysctl kernel.io_uring_disabled and any seccomp "
          "sandbox or container profile that blocks io_uring_setup)";
      break;
    case ENOMEM:
      message += " (the ring could not be allocated: check RLIMIT_MEMLOCK or lower queue_depth)";
      break;
    default:
      break;
  }
  return message;
}

sockaddr* as_sockaddr(sockaddr_storage& storage) { return reinterpret_cast<sockaddr*>(&storage); }

// Counts the forks this process is a child of: a backend remembers the count it was set
// up under, so telling a forked child costs a load, not a getpid() on every submit.
std::atomic<unsigned> fork_generation{0};

unsigned current_fork_generation() {
  static std::once_flag registered;
  std::call_once(registered,
                 [] { ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
  return fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

UringBackend::UringBackend(const UringOptions& options) : options_(options) {
  // A bad argument is the caller's, not the kernel's: say so before asking the kernel.
  if (options.queue_depth == 0 || options.queue_depth > kMaxQueueDepth) {
    throw std::invalid_argument("restrack: UringOptions::queue_depth must be between 1 and " +
                                std::to_string(kMaxQueueDepth) + ", got " +
                                std::to_string(options.queue_depth));
  }
  const int result =
      options.simulated_setup_errno != 0 ? -options.simulated_setup_errno : set_up_ring();
  if (result < 0) throw BackendUnavailableError(setup_failure_message(-result));
  if ((features_ & IORING_FEAT_EXT_ARG) == 0 || (features_ & IORING_FEAT_NODROP) == 0) {
    io_uring_queue_exit(&ring_);
    throw BackendUnavailableError(
        std::string("restrack: cannot create the io_uring event loop backend: the kernel's "
                    "io_uring lacks IORING_FEAT_EXT_ARG or IORING_FEAT_NODROP; ") +
        kKernelRequirement);
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const int error = errno;
    io_uring_queue_exit(&ring_);
    throw std::system_error(error, std::system_category(), "eventfd for the loop's wake-up");
  }
  owner_pid_ = ::getpid();
  owner_generation_ = current_fork_generation();
  // A forked child does not share the ring's memory: it cannot submit into, or reap from,
  // the parent's queues even by accident.
  io_uring_ring_dontfork(&ring_);
}

bool UringBackend::in_forked_child() const noexcept {
  return fork_generation.load(std::memory_order_relaxed) != owner_generation_;
}

void UringBackend::refuse_in_forked_child(const char* what) const {
  if (!in_forked_child()) return;
  throw std::logic_error("restrack: cannot " + std::string(what) +
                         ": this event loop's io_uring ring was set up by process " +
                         std::to_string(owner_pid_) + ", and process " +
                         std::to_string(::getpid()) +
                         " is a child forked from it; create a new EventLoop in the child");
}

UringBackend::~UringBackend() {
  try {
    close();
  } catch (const std::exception& error) {
    proactor_logger().error("closing the io_uring backend failed: {}", error.what());
  }
  if (in_forked_child()) {
    // The ring's memory is the parent's (not mapped here); only our descriptors go.
    ::close(ring_.ring_fd);
  } else {
    io_uring_queue_exit(&ring_);
  }
  ::close(wake_fd_);
}

Submission UringBackend::submit(std::unique_ptr<Operation> operation) {
  refuse_in_forked_child("submit an operation");
  if (closed_) {
    throw LoopClosedError(
        "io_uring backend is closed: no operation can be submitted after close()");
  }
  reserve_entry();
  if (fail_next_insert_) {
    fail_next_insert_ = false;
    throw std::length_error("too many operations in flight for one backend (simulated)");
  }
  if (operation->type == OperationType::accept_pipe) {
    // A named pipe instance is a Windows object: refused at once, nothing reaches the ring.
    operation->result = -EOPNOTSUPP;
    return Submission{kNoOperation, std::move(operation)};
  }
  Operation& submitted = *operation;
  const OperationKey key = table_.insert(std::move(operation));
  // Nothing below can fail: reserve_entry() made room.
  prepare(take_entry(), submitted);
  return Submission{key, nullptr};
}

void UringBackend::cancel(OperationKey key) {
  refuse_in_forked_child("cancel an operation");
  Operation* operation = table_.find(key);
  // Rule 4: cancelling a completed operation, or twice, is harmless.
  if (operation == nullptr || operation->cancel_requested) return;
  reserve_entry();
  operation->cancel_requested = true;
  io_uring_sqe* sqe = take_entry();
  io_uring_prep_cancel64(sqe, key, 0);
  io_uring_sqe_set_data64(sqe, kCancelKey);
}

void UringBackend::poll(std::chrono::nanoseconds timeout,
                        std::vector<std::unique_ptr<Operation>>& completed) {
  refuse_in_forked_child("run");
  // Rule 12: a new wake-up read only once the previous one has completed.
  if (!wake_armed_ && !closed_) arm_wake_read();
  wait(timeout);
  reap(completed);
}

void UringBackend::wake() noexcept {
  // The eventfd is shared with the parent after fork(): waking it from a child would only
  // wake the parent's loop.
  if (in_forked_child()) return;
  const std::uint64_t one = 1;
  // The counter saturates long before it could fail; a lost write still leaves it > 0.
  static_cast<void>(::write(wake_fd_, &one, sizeof one));
}

void UringBackend::close() {
  if (closed_) return;
  closed_ = true;
  if (in_forked_child()) {
    // The operations in flight are the parent's: cancelling or reaping them here would
    // take them from it. Leave them (their memory too) and say so once.
    proactor_logger().error(
        "restrack: event loop closed in process {}, a child forked from process {} that set up "
        "its io_uring ring: its {} operations in flight are left to the parent",
        ::getpid(), owner_pid_, table_.size());
    table_.leak_all();
    static_cast<void>(wake_value_.release());
    return;
  }
  if (wake_armed_) {
    reserve_entry();
    io_uring_sqe* sqe = take_entry();
    io_uring_prep_cancel64(sqe, kWakeReadKey, 0);
    io_uring_sqe_set_data64(sqe, kCancelKey);
  }
  DrainHooks hooks;
  hooks.cancel = [this](OperationKey key) { cancel(key); };
  hooks.reap_and_abandon = [this](std::chrono::nanoseconds timeout) {
    std::vector<std::unique_ptr<Operation>> reaped;
    wait(timeout);
    reap(reaped);
    // Rule 13: abandoned handlers are destroyed, not invoked.
    for (std::unique_ptr<Operation>& operation : reaped) operation->abandon();
  };
  hooks.internal_pending = [this] { return wake_armed_; };
  cancel_and_drain(table_, options_.close_deadline, hooks);
  if (wake_armed_) {
    // The wake-up read outlived the deadline: its 8 bytes stay allocated for the kernel.
    static_cast<void>(wake_value_.release());
  }
}

unsigned UringBackend::unsubmitted_entries_for_test() noexcept { return io_uring_sq_ready(&ring_); }

int UringBackend::set_up_ring() {
  io_uring_params params{};
  // The completion queue holds twice the submission queue; the kernel keeps any overflow
  // (IORING_FEAT_NODROP). COOP_TASKRUN (Linux 5.19): completions are processed when the
  // loop enters the kernel anyway, instead of interrupting it; every wait here enters
  // with GETEVENTS.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = options_.queue_depth * 2;
  int result = io_uring_queue_init_params(options_.queue_depth, &ring_, &params);
  if (result == -EINVAL) {
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = options_.queue_depth * 2;
    result = io_uring_queue_init_params(options_.queue_depth, &ring_, &params);
  }
  features_ = params.features;
  return result;
}

void UringBackend::reserve_entry() {
  if (io_uring_sq_space_left(&ring_) > 0) return;
  // The submission queue is full: hand it to the kernel.
  const int submitted = io_uring_submit(&ring_);
  if (submitted < 0) throw std::system_error(-submitted, std::system_category(), "io_uring_submit");
  if (io_uring_sq_space_left(&ring_) == 0) {
    throw std::system_error(EBUSY, std::system_category(), "io_uring submission queue full");
  }
}

void UringBackend::prepare(io_uring_sqe* sqe, Operation& operation) {
  switch (operation.type) {
    case OperationType::accept:
      operation.address->length = sizeof operation.address->storage;
      io_uring_prep_accept(sqe, operation.handle, as_sockaddr(operation.address->storage),
                           &operation.address->length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case OperationType::connect:
      io_uring_prep_connect(sqe, operation.handle, as_sockaddr(operation.address->storage),
                            operation.address->length);
      break;
    case OperationType::recv:
      io_uring_prep_recv(sqe, operation.handle, operation.buffer.data(), operation.buffer.size(),
                         0);
      break;
    case OperationType::send:
      io_uring_prep_send(sqe, operation.handle, operation.buffer.data() + operation.offset,
                         operation.buffer.size() - operation.offset, MSG_NOSIGNAL);
      break;
    case OperationType::read:
      io_uring_prep_read(sqe, operation.handle, operation.buffer.data(),
                         static_cast<unsigned>(operation.buffer.size()), kNoOffset);
      break;
    case OperationType::write:
      io_uring_prep_write(sqe, operation.handle, operation.buffer.data() + operation.offset,
                          static_cast<unsigned>(operation.buffer.size() - operation.offset),
                          kNoOffset);
      break;
    case OperationType::accept_pipe:  // refused by submit()
      break;
    case OperationType::sendto:
    case OperationType::recvfrom: {
      PlatformOperationState& state = operation.platform;
      state.io.iov_base = operation.buffer.data();
      state.io.iov_len = operation.buffer.size();
      state.message.msg_name = &operation.address->storage;
      state.message.msg_namelen = operation.type == OperationType::sendto
                                      ? operation.address->length
                                      : static_cast<socklen_t>(sizeof operation.address->storage);
      state.message.msg_iov = &state.io;
      state.message.msg_iovlen = 1;
      if (operation.type == OperationType::sendto) {
        io_uring_prep_sendmsg(sqe, operation.handle, &state.message, MSG_NOSIGNAL);
      } else {
        io_uring_prep_recvmsg(sqe, operation.handle, &state.message, 0);
      }
      break;
    }
    case OperationType::wait_process:
      // A pidfd becomes readable when its process exits (Linux 5.3); one-shot poll.
      io_uring_prep_poll_add(sqe, operation.handle, POLLIN);
      break;
  }
  io_uring_sqe_set_data64(sqe, operation.key);
}

void UringBackend::arm_wake_read() {
  reserve_entry();
  io_uring_sqe* sqe = take_entry();
  io_uring_prep_read(sqe, wake_fd_, wake_value_.get(), sizeof *wake_value_, 0);
  io_uring_sqe_set_data64(sqe, kWakeReadKey);
  wake_armed_ = true;
}

// Submits what is queued and waits up to `timeout` (negative: without limit) for one
// completion. Timeouts and signals just end the wait.
void UringBackend::wait(std::chrono::nanoseconds timeout) {
  int result;
  if (timeout.count() == 0) {
    result = io_uring_submit_and_get_events(&ring_);
  } else if (timeout.count() < 0) {
    result = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec wait_time{};
    wait_time.tv_sec = static_cast<long long>(timeout.count() / 1'000'000'000);
    wait_time.tv_nsec = static_cast<long long>(timeout.count() % 1'000'000'000);
    io_uring_cqe* first = nullptr;
    result = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &wait_time, nullptr);
  }
  if (result < 0 && result != -ETIME && result != -EINTR && result != -EAGAIN && result != -EBUSY) {
    throw std::system_error(-result, std::system_category(), "io_uring_enter");
  }
}

void UringBackend::reap(std::vector<std::unique_ptr<Operation>>& completed) {
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const OperationKey key = io_uring_cqe_get_data64(cqe);
    if (key == kWakeReadKey) {
      wake_armed_ = false;
    } else if (key != kCancelKey) {
      // Rule 8: a cancellation's own answer (0, -ENOENT, -EALREADY) is ignored; the
      // target's completion is what ends it.
      if (std::unique_ptr<Operation> operation = table_.reap(key, cqe->res)) {
        if (operation->type == OperationType::recvfrom) {
          operation->address->length = operation->platform.message.msg_namelen;
        }
        completed.push_back(std::move(operation));
      }
    }
  }
  io_uring_cq_advance(&ring_, seen);
}

std::unique_ptr<Backend> make_platform_backend(const EventLoopOptions& options) {
  return std::make_unique<UringBackend>(options.uring);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
