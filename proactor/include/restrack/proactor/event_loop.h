// restrack/proactor/event_loop.h — EventLoop, the single-threaded proactor loop.
//
// An EventLoop runs callbacks from its ready queue, fires timers, and delivers the
// completions of the I/O operations it submitted to its Backend (io_uring on Linux
// unless you pass another). One iteration: wait for completions (not at all when
// callbacks are ready, until the next timer otherwise), deliver them, move due timers and
// thread-safe posts to the ready queue, then run the callbacks that were ready at that
// point — callbacks they schedule run on the next iteration.
//
//   restrack::EventLoop loop;
//   auto result = loop.run_until_complete(main_task(loop));
//   loop.close();
//
// The loop is a tracked resource of kind `event loop`: destroying one that was not
// closed reports "unclosed event loop" with the trace of its creation (and closes it,
// unless it is running). Everything but call_soon_threadsafe() must be called on the
// thread that runs the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/backend.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

struct EventLoopOptions {
  // Debug mode: callbacks that take at least `slow_callback_duration` are logged as
  // warnings on the `restrack.proactor` logger, naming where they were scheduled.
  bool debug = false;
  std::chrono::nanoseconds slow_callback_duration = std::chrono::milliseconds(100);
  // Used when the loop creates its own io_uring backend.
  UringOptions uring;
};

namespace internal {
struct TimerEntry;
}

// A scheduled timer callback. Copies refer to the same timer.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::shared_ptr<internal::TimerEntry> entry) noexcept
      : entry_(std::move(entry)) {}
  // Prevents the callback from running and releases what it holds at once; the loop
  // drops the timer's small entry when its time comes. Harmless if it already ran.
  void cancel() noexcept;
  // True once cancel() was called.
  bool cancelled() const noexcept;

 private:
  std::shared_ptr<internal::TimerEntry> entry_;
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void()>;

  // A loop on the io_uring backend. Throws BackendUnavailableError if the kernel refuses
  // io_uring (the message names the cause and the kernel requirement).
  explicit EventLoop(EventLoopOptions options = {});
  // A loop on `backend` (the scripted backend of the tests, or another implementation).
  explicit EventLoop(std::unique_ptr<Backend> backend, EventLoopOptions options = {});
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // An open loop reports "unclosed event loop" and is closed here if it is not running.
  ~EventLoop();

  // Schedules `callback` to run on a later iteration, after the callbacks already
  // queued. Throws LoopClosedError on a closed loop.
  void call_soon(Callback callback, CallSite where = CallSite::current());

  // call_soon() from any thread: queues the callback and wakes the loop. Throws
  // LoopClosedError once the loop is closed (or closing).
  void call_soon_threadsafe(Callback callback, CallSite where = CallSite::current());

  // Runs `callback` once `delay` has passed (at `when`). Timers due at the same time run
  // in the order they were scheduled.
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
    if (!task.state()->started()) task.state()->start(*this, where);
    task.add_done_callback([this] { stop(); });
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
  // new thread-safe posts, closes the backend (which cancels every operation and reaps
  // until none is in flight, rules 10 and 13), then drops the ready queue and timers.
  // Tasks still pending are destroyed when their last handle goes (and report it).
  void close();

  // Starts `task` on this loop and returns it.
  template <class T>
  Task<T> create_task(Task<T> task, CallSite where = CallSite::current()) {
    task.state()->start(*this, where);
    return task;
  }

  // A future that completes after `delay`; cancelling it cancels the timer.
  Future<void> sleep(Clock::duration delay);

  bool debug() const noexcept { return options_.debug; }
  void set_debug(bool enabled) noexcept { options_.debug = enabled; }
  void set_slow_callback_duration(std::chrono::nanoseconds duration) noexcept {
    options_.slow_callback_duration = duration;
  }

  // Hands `operation` to the backend and returns its key; kNoOperation if it failed at
  // once, in which case its completion function runs from the ready queue (rule 3).
  // Throws LoopClosedError on a closed loop. Used by the socket layer.
  OperationKey submit(std::unique_ptr<Operation> operation);

  // Asks the backend to cancel an operation (rule 4). A no-op on a closed loop.
  void cancel_operation(OperationKey key);

  std::size_t operations_in_flight() const noexcept { return backend_->in_flight(); }

  // The loop running on this thread, or null.
  static EventLoop* running() noexcept;
  // Like running(), but throws std::logic_error when no loop runs on this thread.
  static EventLoop& running_loop();

  // Shared with futures bound to this loop (see future.h).
  const std::shared_ptr<internal::LoopAnchor>& anchor() const noexcept { return anchor_; }

 private:
  struct ReadyCallback {
    Callback callback;
    CallSite where;
  };
  void run_once();
  std::chrono::nanoseconds poll_timeout();
  void run_ready(ReadyCallback& ready);
  void release_resources() noexcept;

  EventLoopOptions options_;
  std::unique_ptr<Backend> backend_;
  std::shared_ptr<internal::LoopAnchor> anchor_;
  std::deque<ReadyCallback> ready_;
  std::vector<std::shared_ptr<internal::TimerEntry>> timers_;  // min-heap on (when, sequence)
  std::uint64_t timer_sequence_ = 0;
  std::vector<std::unique_ptr<Operation>> completed_;

  std::mutex threadsafe_mutex_;
  std::vector<ReadyCallback> threadsafe_;  // guarded by threadsafe_mutex_
  bool threadsafe_closed_ = false;         // guarded by threadsafe_mutex_
  std::atomic<bool> threadsafe_pending_{false};

  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

RESTRACK_NAMESPACE_END
