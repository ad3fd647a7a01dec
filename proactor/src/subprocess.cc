// Subprocess transports: portable on top of the platform's spawn calls (spawn_calls.h), a
// wait_process operation on the loop's backend, and one SocketTransport per pipe.
#include "restrack/proactor/subprocess.h"

#include <array>
#include <atomic>
#include <climits>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "loop_access.h"
#include "loop_frames.h"
#include "operation.h"
#include "restrack/kind.h"
#include "result_error.h"
#include "spawn_calls.h"
#include "stream_protocols.h"
#include "stream_transport.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

constexpr int kRunning = INT_MIN;

// The child itself, shared by its transport and the operation waiting for its exit, so
// that whichever outlives the other still reaps it: no zombie is ever left. The process
// handle (pidfd) names exactly this child, so a reused pid can never be reaped by mistake.
class ChildProcess {
 public:
  ChildProcess(int pid, NativeSocket handle) noexcept : pid_(pid), handle_(handle) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    // Nobody is left to wait for it (its transport is gone and so is the wait, abandoned by
    // a closing loop): it was killed by close() or by the transport's destructor, so this
    // wait is short.
    if (!returncode_) {
      static_cast<void>(signal_process(handle_, kSignalKill));
      returncode_ = reap(handle_);
    }
    close_process_handle(handle_);
  }

  int pid() const noexcept { return pid_; }
  NativeSocket handle() const noexcept { return handle_; }
  const std::optional<int>& returncode() const noexcept { return returncode_; }

  // Reaps it if it has exited; true once reaped.
  bool reap_if_exited() noexcept {
    if (!returncode_) returncode_ = try_reap(handle_);
    return returncode_.has_value();
  }
  void kill_and_reap() noexcept {
    if (returncode_) return;
    static_cast<void>(signal_process(handle_, kSignalKill));
    returncode_ = reap(handle_);
  }

  // Rule 30: the exit waiters live with the child, not with the transport, so they are
  // woken even when the transport is gone (its setup failed, or it was dropped closed).
  void add_waiter(Future<int> waiter) { waiters_.push_back(std::move(waiter)); }
  void wake_waiters() noexcept {
    std::vector<Future<int>> waiters = std::move(waiters_);
    waiters_.clear();
    for (Future<int>& waiter : waiters) {
      if (waiter.done()) continue;  // a cancelled wait breaks nothing
      try {
        if (returncode_) {
          waiter.set_result(*returncode_);
        } else {
          waiter.cancel();
        }
      } catch (...) {
      }
    }
  }

 private:
  int pid_;
  NativeSocket handle_;
  std::optional<int> returncode_;
  std::vector<Future<int>> waiters_;
};

class ProcessTransport;

// The wait for the child's exit (a poll on the pidfd under io_uring).
class WaitOperation final : public Operation {
 public:
  WaitOperation(std::shared_ptr<ChildProcess> child, std::weak_ptr<ProcessTransport> owner)
      : Operation(OperationType::wait_process, child->handle()),
        child_(std::move(child)),
        owner_(std::move(owner)) {}
  void complete(std::unique_ptr<Operation> self) override;
  // Rule 11: the loop is closing; reap now if the child is gone already.
  void abandon() noexcept override;

 private:
  std::shared_ptr<ChildProcess> child_;
  std::weak_ptr<ProcessTransport> owner_;
};

std::string describe_process(const void* owner);

class ProcessTransport final : public SubprocessTransport,
                               public std::enable_shared_from_this<ProcessTransport> {
 public:
  ProcessTransport(EventLoop& loop, SpawnedChild spawned, std::string program, CallSite where)
      : loop_(loop),
        child_(std::make_shared<ChildProcess>(spawned.pid, spawned.process_handle)),
        program_(std::move(program)),
        where_(where),
        spawned_pipes_(std::move(spawned.pipes)) {
    guard_.open(kinds::subprocess, this, &describe_process, kLoopDispatchFrames + 2);
  }

  ~ProcessTransport() override {
    if (!closing_) {
      // Section F: warn, then kill and reap the child; the pipes are closed directly.
      guard_.release_and_warn([this]() noexcept {
        discard_pipes();
        child_->kill_and_reap();
      });
    } else {
      discard_pipes();
    }
  }

  // Makes the pipe transports (reading from now on, so no output is missed) and submits
  // the wait for the exit.
  void connect() {
    for (int fd = 0; fd < 3; ++fd) {
      Socket& socket = spawned_pipes_[static_cast<std::size_t>(fd)];
      if (!socket) continue;
      SocketTransport::Settings settings;
      settings.label = "pipe";
      settings.name = "fd " + std::to_string(fd) + " of pid " + std::to_string(pid());
      settings.kind = nullptr;  // part of this subprocess's resource
      settings.where = where_;
      auto transport = SocketTransport::create(loop_, std::move(socket), std::move(settings));
      transport->start_now(std::make_shared<PipeProtocol>(weak_from_this(), fd));
      pipes_[static_cast<std::size_t>(fd)].transport = std::move(transport);
      pipes_[static_cast<std::size_t>(fd)].open = true;
    }
    auto wait = std::make_unique<WaitOperation>(child_, weak_from_this());
    wait_key_ = LoopAccess::submit(loop_, std::move(wait));
  }

  // Attaches the protocol and schedules connection_made; the future completes after it.
  Future<void> start(std::shared_ptr<SubprocessProtocol> protocol) {
    protocol_ = std::move(protocol);
    made_future_ = Future<void>::create(loop_);
    LoopAccess::schedule(
        loop_, [self = shared_from_this()] { self->connection_made(); }, where_);
    return *made_future_;
  }

  void on_exit() {
    wait_key_ = kNoOperation;
    if (!child_->reap_if_exited()) {
      // Readable pidfd but not reapable yet cannot happen; wait for the real exit.
      child_->kill_and_reap();
    }
    returncode_now_.store(*child_->returncode(), std::memory_order_relaxed);
    child_->wake_waiters();  // rule 30
    dispatch([this] {
      call("SubprocessProtocol::process_exited", [&] { protocol_->process_exited(); });
    });
    try_finish();
  }

  void pipe_data(int fd, std::string_view data) {
    if (made_) {
      if (protocol_ != nullptr) {
        call("SubprocessProtocol::pipe_data_received",
             [&] { protocol_->pipe_data_received(fd, data); });
      }
      return;
    }
    // Rule 28: before connection_made the data waits, copied, in the order it came.
    pending_.emplace_back([this, fd, copy = std::string(data)] {
      call("SubprocessProtocol::pipe_data_received",
           [&] { protocol_->pipe_data_received(fd, copy); });
    });
  }

  void pipe_lost(int fd, std::exception_ptr error) {
    pipes_[static_cast<std::size_t>(fd)].open = false;
    dispatch([this, fd, error] {
      call("SubprocessProtocol::pipe_connection_lost",
           [&] { protocol_->pipe_connection_lost(fd, error); });
    });
    try_finish();
  }

  void pipe_pause_writing() {
    if (made_ && protocol_ != nullptr) {
      call("BaseProtocol::pause_writing", [&] { protocol_->pause_writing(); });
    }
  }
  void pipe_resume_writing() {
    if (made_ && protocol_ != nullptr) {
      call("BaseProtocol::resume_writing", [&] { protocol_->resume_writing(); });
    }
  }

  // SubprocessTransport
  int pid() const noexcept override { return child_->pid(); }
  std::optional<int> returncode() const noexcept override { return child_->returncode(); }
  StreamTransport* pipe_transport(int fd) noexcept override {
    if (fd < 0 || fd > 2) return nullptr;
    return pipes_[static_cast<std::size_t>(fd)].transport.get();
  }
  void send_signal(int signal) override {
    if (child_->returncode()) return;  // reaped: the pid may be someone else's now
    if (const int failure = signal_process(child_->handle(), signal)) {
      throw result_error(
          failure, "send_signal " + std::to_string(signal) + " to pid " + std::to_string(pid()));
    }
  }
  void terminate() override { send_signal(kSignalTerminate); }
  void kill() override { send_signal(kSignalKill); }

  void close() override {
    // Rule 31: idempotent; pipes closed; the child killed only while it runs.
    if (closing_) return;
    closing_ = true;
    guard_.close();
    // Closed, it lives on until connection_lost has been delivered (or the loop closes),
    // whoever still holds it: the protocol saw connection_made, so it gets connection_lost.
    if (!lost_) keep_alive_ = shared_from_this();
    for (Pipe& pipe : pipes_) {
      if (pipe.transport != nullptr) pipe.transport->close();
    }
    if (!child_->reap_if_exited()) static_cast<void>(signal_process(child_->handle(), kSignalKill));
  }
  bool is_closing() const noexcept override { return closing_; }

  Future<int> wait() override {
    Future<int> waiter = Future<int>::create(loop_);
    if (child_->returncode() && wait_key_ == kNoOperation) {
      waiter.set_result(*child_->returncode());
    } else {
      child_->add_waiter(waiter);
    }
    return waiter;
  }

  SubprocessProtocol& protocol() const noexcept override { return *protocol_; }

  // The loop is closing: nothing more will be delivered.
  void release_keep_alive() noexcept { keep_alive_.reset(); }

  std::string describe() const {
    std::string text = "subprocess pid=" + std::to_string(pid());
    const int code = returncode_now_.load(std::memory_order_relaxed);
    if (code == kRunning) {
      text += " running";
    } else if (code >= 0) {
      text += " exited " + std::to_string(code);
    } else {
      text += " killed by signal " + std::to_string(-code);
    }
    return text + " " + program_;
  }

 private:
  struct Pipe {
    std::shared_ptr<SocketTransport> transport;
    bool open = false;
  };

  // The (internal) protocol of one pipe: forwards to the subprocess.
  class PipeProtocol final : public StreamProtocol {
   public:
    PipeProtocol(std::weak_ptr<ProcessTransport> owner, int fd)
        : owner_(std::move(owner)), fd_(fd) {}
    void data_received(std::string_view data) override {
      // What the child writes to its stdin is not for anyone (asyncio reads it only to see
      // the pipe close, as this transport does).
      if (fd_ == 0) return;
      if (auto owner = owner_.lock()) owner->pipe_data(fd_, data);
    }
    void connection_lost(const std::exception_ptr& error) override {
      if (auto owner = owner_.lock()) owner->pipe_lost(fd_, error);
    }
    void pause_writing() override {
      if (auto owner = owner_.lock()) owner->pipe_pause_writing();
    }
    void resume_writing() override {
      if (auto owner = owner_.lock()) owner->pipe_resume_writing();
    }

   private:
    std::weak_ptr<ProcessTransport> owner_;
    int fd_;
  };

  template <class Call>
  void call(const char* callback, Call&& invoke) {
    if (protocol_ == nullptr) return;
    // A protocol callback that throws: the exception handler, then the transport is closed.
    if (!call_protocol(loop_, callback, where_, std::forward<Call>(invoke))) close();
  }

  // Rule 28: protocol calls made before connection_made wait for it, in order.
  void dispatch(std::function<void()> invoke) {
    if (!made_) {
      pending_.push_back(std::move(invoke));
      return;
    }
    invoke();
  }

  void connection_made() {
    made_ = true;
    std::exception_ptr failure;
    try {
      if (protocol_ != nullptr) protocol_->connection_made(*this);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure != nullptr) {
      if (made_future_ && !made_future_->done()) {
        made_future_->set_exception(failure);
      } else {
        loop_.call_exception_handler(ExceptionContext{
            "exception in SubprocessProtocol::connection_made", failure, where_, {}, kNoTrace});
      }
      close();  // rule 31: construction failed
    } else if (made_future_ && !made_future_->done()) {
      made_future_->set_result();
    }
    // Rule 28: what happened before, replayed in order, the final connection_lost included.
    std::vector<std::function<void()>> pending = std::move(pending_);
    pending_.clear();
    for (std::function<void()>& invoke : pending) invoke();
  }

  // Rule 29: connection_lost once the child has exited and every pipe is closed.
  void try_finish() {
    if (finished_ || !child_->returncode()) return;
    for (const Pipe& pipe : pipes_) {
      if (pipe.open) return;
    }
    finished_ = true;
    if (!made_) {
      // The seed's _try_finish bug: scheduling this with call_soon could run it before
      // connection_made. Queued behind it instead.
      pending_.emplace_back([this] { connection_lost(); });
      return;
    }
    LoopAccess::schedule(
        loop_, [self = shared_from_this()] { self->connection_lost(); }, where_);
  }

  void connection_lost() {
    if (lost_) return;
    lost_ = true;
    if (protocol_ != nullptr) {
      call_protocol(loop_, "BaseProtocol::connection_lost", where_,
                    [&] { protocol_->connection_lost(nullptr); });
    }
    protocol_.reset();
    keep_alive_.reset();  // may destroy this transport: the last thing done here
  }

  void discard_pipes() noexcept {
    for (Pipe& pipe : pipes_) {
      if (pipe.transport != nullptr) pipe.transport->discard();
    }
    for (Socket& socket : spawned_pipes_) {
      if (socket) static_cast<void>(socket.close());
    }
  }

  EventLoop& loop_;
  std::shared_ptr<ChildProcess> child_;
  std::string program_;
  CallSite where_;
  std::array<Socket, 3> spawned_pipes_;  // until connect() hands them to transports
  std::array<Pipe, 3> pipes_;
  std::shared_ptr<SubprocessProtocol> protocol_;
  std::optional<Future<void>> made_future_;
  std::vector<std::function<void()>> pending_;
  std::shared_ptr<ProcessTransport> keep_alive_;  // while closing, until connection_lost
  OperationKey wait_key_ = kNoOperation;
  std::atomic<int> returncode_now_{kRunning};
  bool made_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool lost_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

std::string describe_process(const void* owner) {
  return static_cast<const ProcessTransport*>(owner)->describe();
}

void WaitOperation::complete(std::unique_ptr<Operation> self) {
  static_cast<void>(self);
  if (std::shared_ptr<ProcessTransport> owner = owner_.lock()) {
    owner->on_exit();
  } else {
    child_->reap_if_exited();  // the transport is gone; the child is still reaped
    child_->wake_waiters();
  }
}

void WaitOperation::abandon() noexcept {
  child_->reap_if_exited();
  child_->wake_waiters();
  if (std::shared_ptr<ProcessTransport> owner = owner_.lock()) owner->release_keep_alive();
}

Task<std::shared_ptr<SubprocessTransport>> start_subprocess(
    std::shared_ptr<ProcessTransport> transport, SubprocessProtocolFactory factory) {
  std::shared_ptr<SubprocessProtocol> protocol;
  std::exception_ptr failure;
  try {
    protocol = factory();
    if (protocol == nullptr) throw std::invalid_argument("the protocol factory returned null");
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure == nullptr) {
    try {
      co_await transport->start(std::move(protocol));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure != nullptr) {
    // Rule 31: construction failed or was cancelled: close (the child is killed if it
    // runs, and still reaped) and re-raise.
    transport->close();
    std::rethrow_exception(failure);
  }
  co_return transport;
}

}  // namespace
}  // namespace internal

Task<std::shared_ptr<SubprocessTransport>> subprocess_exec(EventLoop& loop,
                                                           SubprocessProtocolFactory factory,
                                                           std::vector<std::string> argv,
                                                           const SubprocessOptions& options,
                                                           CallSite where) {
  if (argv.empty()) throw std::invalid_argument("subprocess_exec: argv is empty");
  if (options.stdin_mode == Stdio::same_as_stdout || options.stdout_mode == Stdio::same_as_stdout) {
    throw std::invalid_argument("subprocess_exec: Stdio::same_as_stdout is for stderr only");
  }
  internal::SpawnedChild spawned = internal::spawn_process(argv, options);
  // Created here, in the caller's frame, so that its allocation trace names the caller.
  auto transport =
      std::make_shared<internal::ProcessTransport>(loop, std::move(spawned), argv.front(), where);
  transport->connect();
  return internal::start_subprocess(std::move(transport), std::move(factory));
}

Task<std::shared_ptr<SubprocessTransport>> subprocess_exec(EventLoop& loop,
                                                           SubprocessProtocolFactory factory,
                                                           std::vector<std::string> argv,
                                                           CallSite where) {
  return subprocess_exec(loop, std::move(factory), std::move(argv), SubprocessOptions{}, where);
}

Task<Process> create_subprocess_exec(EventLoop& loop, std::vector<std::string> argv,
                                     const SubprocessOptions& options, std::size_t limit,
                                     CallSite where) {
  auto protocol = internal::make_subprocess_protocol(loop, limit);
  return internal::process_of(
      subprocess_exec(loop, internal::protocol_factory(protocol), std::move(argv), options, where),
      protocol);
}

Task<Process> create_subprocess_exec(EventLoop& loop, std::vector<std::string> argv,
                                     CallSite where) {
  return create_subprocess_exec(loop, std::move(argv), SubprocessOptions{}, kDefaultStreamLimit,
                                where);
}

RESTRACK_NAMESPACE_END
