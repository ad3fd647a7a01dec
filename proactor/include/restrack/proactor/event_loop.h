// restrack/proactor/event_loop.h — EventLoop, the single-threaded proactor loop.
//
// An EventLoop runs callbacks from its ready queue, fires timers, and delivers the
// completions of the I/O operations it submitted to its backend (io_uring on Linux, an I/O
// completion port on Windows). One
// iteration: wait for completions (not at all when callbacks are ready, until the next
// timer otherwise), deliver them, move due timers and thread-safe posts to the ready
// queue, then run the callbacks that were ready at that point — callbacks they schedule
// run on the next iteration.
//
//   restrack::EventLoop loop;
//   auto result = loop.run_until_complete(main_task(loop));
//   loop.close();
//
// The loop is a tracked resource of kind `event loop`: destroying one that was not
// closed reports "unclosed event loop" with the trace of its creation (and closes it,
// unless it is running). Everything but call_soon_threadsafe() must be called on the
// thread that runs the loop.
//
// Exceptions escaping a callback, a done callback or the delivery of a completion go to
// the loop's exception handler (set_exception_handler); the default one logs them on the
// `restrack.proactor` logger with the line that scheduled the callback. The loop keeps
// running.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

// Settings of the io_uring backend (ignored by other backends).
struct UringOptions {
  // Submission queue entries, 1 to 32768 (the kernel's limit); the completion queue gets
  // twice as many. Out of range: the EventLoop constructor throws std::invalid_argument.
  unsigned queue_depth = 256;
  // How long close() waits for the kernel to answer every cancellation before reporting
  // the operations still pending and leaking them.
  std::chrono::milliseconds close_deadline{10'000};
  // For tests: when non-zero, ring setup fails with this errno as if the kernel had
  // refused it, so the error path of EventLoop creation can be exercised.
  int simulated_setup_errno = 0;
};

// Settings of the IOCP backend (Windows; ignored by other backends).
struct IocpOptions {
  // How long close() waits for the kernel to answer every CancelIoEx before reporting the
  // operations still pending and leaking them.
  std::chrono::milliseconds close_deadline{10'000};
};

struct EventLoopOptions {
  // Debug mode: callbacks that take at least `slow_callback_duration` are logged as
  // warnings on the `restrack.proactor` logger, naming where they were scheduled.
  bool debug = false;
  std::chrono::nanoseconds slow_callback_duration = std::chrono::milliseconds(100);
  // Used when the loop creates its own io_uring backend (Linux).
  UringOptions uring;
  // Used when the loop creates its own IOCP backend (Windows).
  IocpOptions iocp;
};

namespace internal {
class Backend;
class Operation;
struct LoopAccess;
struct LoopAnchor;
struct ScheduledCallback;
}  // namespace internal

// A callback scheduled with call_soon(), call_later() or call_at(). Copies refer to the
// same callback.
class Handle {
 public:
  Handle() = default;
  // Prevents the callback from running and releases what it holds at once (a callback
  // may cancel its own handle while it runs: it finishes normally). Harmless if it
  // already ran.
  void cancel() noexcept;
  // True once cancel() was called.
  bool cancelled() const noexcept;

 private:
  friend class EventLoop;
  explicit Handle(std::shared_ptr<internal::ScheduledCallback> entry) noexcept
      : entry_(std::move(entry)) {}
  std::shared_ptr<internal::ScheduledCallback> entry_;
};

// call_later() and call_at() return the same kind of handle.
using TimerHandle = Handle;

// What the exception handler receives.
struct ExceptionContext {
  // What happened: "exception in callback", "exception in a done callback",
  // "exception while delivering a completion", "task exception was never retrieved".
  std::string_view message;
  std::exception_ptr exception;
  // Where the callback was scheduled, or where the task was started.
  CallSite where;
  // The task involved, if any: its name and the trace of its creation.
  std::string task;
  TraceId task_trace = kNoTrace;
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void()>;
  using ExceptionHandler = std::function<void(EventLoop& loop, const ExceptionContext& context)>;

  // A loop on the platform's backend (io_uring on Linux, IOCP on Windows). Throws
  // BackendUnavailableError if the kernel refuses it (the message names the cause and the kernel
  // requirement), std::invalid_argument for options out of range.
  explicit EventLoop(EventLoopOptions options = {});
  // A loop on another backend implementation (restrack's scripted test backend). The
  // Backend interface is internal to restrack (proactor/src/backend.h).
  explicit EventLoop(std::unique_ptr<internal::Backend> backend, EventLoopOptions options = {});
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // An open loop reports "unclosed event loop" and is closed here if it is not running.
  ~EventLoop();

  // Schedules `callback` to run on a later iteration, after the callbacks already
  // queued. Throws LoopClosedError on a closed loop.
  Handle call_soon(Callback callback, CallSite where = CallSite::current());

  // call_soon() from any thread: queues the callback and wakes the loop (one wake-up per
  // batch of posts). Throws LoopClosedError once the loop is closed (or closing). Safe
  // against a concurrent close(): the loop does not release its backend while a post is
  // still waking it.
  void call_soon_threadsafe(Callback callback, CallSite where = CallSite::current());

  // Runs `callback` once `delay` has passed (at `when`). Timers due at the same time run
  // in the order they were scheduled. Delays too long to represent are saturated.
  TimerHandle call_later(Clock::duration delay, Callback callback,
                         CallSite where = CallSite::current());
  TimerHandle call_at(Clock::time_point when, Callback callback,
                      CallSite where = CallSite::current());

  // The loop's clock.
  Clock::time_point time() const noexcept { return Clock::now(); }

  // Runs iterations until stop() is called. Throws std::logic_error if the loop is
  // already running or another loop runs on this thread, LoopClosedError if closed.
  void run_forever();

  // Starts `task` if needed, runs until it is done, and returns its result (or throws
  // its exception / CancelledError). Throws std::logic_error if the loop was stopped
  // before the task finished.
  template <class T>
  T run_until_complete(Task<T> task, CallSite where = CallSite::current()) {
    const auto& state = internal::TaskAccess::state(task);
    if (!internal::TaskAccess::started(*state)) internal::TaskAccess::start(*state, *this, where);
    task.add_done_callback([this] { stop(); }, where);
    run_forever();
    if (!task.done()) throw std::logic_error("event loop stopped before the task completed");
    return task.take_result();
  }

  // Makes run_forever() return after the current iteration. Called before
  // run_forever(), that call runs one iteration.
  void stop() noexcept { stopping_ = true; }

  bool is_running() const noexcept { return running_; }
  bool is_closed() const noexcept { return closed_; }

  // Rule 9: throws std::logic_error while running; a no-op once closed. Otherwise refuses
  // new thread-safe posts (waiting for posts still waking the loop), closes the backend
  // (which cancels every operation and reaps until none is in flight, rules 10 and 13),
  // then drops the ready queue, the timers and the tasks it kept running. Tasks still
  // pending are destroyed when their last handle goes (and report it).
  void close();

  // Starts `task` on this loop and returns it.
  template <class T>
  Task<T> create_task(Task<T> task, CallSite where = CallSite::current()) {
    internal::TaskAccess::start(*internal::TaskAccess::state(task), *this, where);
    return task;
  }

  // A future that completes after `delay`; cancelling it cancels the timer.
  Future<void> sleep(Clock::duration delay, CallSite where = CallSite::current());

  // Replaces the exception handler (null restores the default). The handler runs on the
  // loop's thread; an exception escaping it is logged and dropped.
  void set_exception_handler(ExceptionHandler handler);
  // Passes `context` to the exception handler.
  void call_exception_handler(const ExceptionContext& context) noexcept;
  // What the loop does without a handler of yours: "task exception was never retrieved"
  // is reported as a ResourceWarning of kind `task` (restrack/diagnostic.h), with the
  // task's creation trace; everything else is logged on `restrack.proactor` with the site:
  //   exception in callback scheduled at src/app.cc:42: std::runtime_error: boom
  static void default_exception_handler(const ExceptionContext& context) noexcept;

  bool debug() const noexcept { return options_.debug; }
  void set_debug(bool enabled) noexcept { options_.debug = enabled; }
  void set_slow_callback_duration(std::chrono::nanoseconds duration) noexcept {
    options_.slow_callback_duration = duration;
  }

  // Operations submitted to the backend and not yet reaped.
  std::size_t operations_in_flight() const noexcept;

  // The loop running on this thread, or null.
  static EventLoop* running() noexcept;
  // Like running(), but throws std::logic_error when no loop runs on this thread.
  static EventLoop& running_loop();

 private:
  friend struct internal::LoopAccess;
  // A callback, or the next step of a task that was waiting (held weakly: a task that
  // nobody owns any more is destroyed rather than run; its site is the task's start).
  struct ReadyCallback {
    ReadyCallback(Callback run, CallSite at) noexcept : callback(std::move(run)), where(at) {}
    explicit ReadyCallback(std::weak_ptr<FutureBase> waiting) noexcept
        : task(std::move(waiting)), task_step(true) {}

    Callback callback;
    CallSite where;
    std::weak_ptr<FutureBase> task;
    bool task_step = false;
  };
  void schedule(Callback callback, CallSite where);
  void run_once();
  std::chrono::nanoseconds poll_timeout();
  void run_ready(ReadyCallback& ready);
  // Where `ready` was scheduled: a task step's is where its task (`task`, null when gone)
  // was started.
  static CallSite where_of(const ReadyCallback& ready, const FutureBase* task) noexcept;
  void release_resources() noexcept;

  EventLoopOptions options_;
  std::unique_ptr<internal::Backend> backend_;
  std::shared_ptr<internal::LoopAnchor> anchor_;
  // Two queues swapped each iteration, so that steady running allocates nothing: the
  // iteration runs `running_` while what it schedules goes to `ready_`.
  std::vector<ReadyCallback> ready_;
  std::vector<ReadyCallback> now_running_;
  std::vector<std::shared_ptr<internal::ScheduledCallback>> timers_;  // min-heap (when, sequence)
  std::uint64_t timer_sequence_ = 0;
  std::vector<std::unique_ptr<internal::Operation>> completed_;  // reused every iteration
  std::vector<std::shared_ptr<TaskBase>> kept_running_;          // TaskAccess::keep_running
  ExceptionHandler exception_handler_;

  // Thread-safe posts. A post wakes the loop only when it finds no wake-up on its way
  // (`posted_` false); close() waits until `wakers_` is zero before the backend goes.
  std::mutex threadsafe_mutex_;
  std::vector<ReadyCallback> threadsafe_;  // guarded by threadsafe_mutex_
  bool threadsafe_closed_ = false;         // guarded by threadsafe_mutex_
  std::atomic<bool> posted_{false};        // written under threadsafe_mutex_
  std::atomic<int> wakers_{0};

  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

// Number of operations destroyed while the kernel could still write into them, since the
// process started. Rule 1 makes this impossible; test suites assert that it stays zero.
std::uint64_t operations_freed_in_flight() noexcept;

RESTRACK_NAMESPACE_END
