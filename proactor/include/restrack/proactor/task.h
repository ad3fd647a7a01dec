// restrack/proactor/task.h — Task<T>, a C++20 coroutine run by an EventLoop.
//
// A coroutine returning Task<T> does nothing until it is started with
// EventLoop::create_task() (or awaited by a running task, or passed to
// run_until_complete()); then the loop runs it step by step, each step a callback of its
// ready queue. A task is itself a future: others may await it, add done callbacks, or
// cancel it.
//
//   restrack::Task<std::string> read_greeting(restrack::EventLoop& loop,
//                                             const restrack::TrackedFd& socket) {
//     co_return co_await restrack::sock_recv(loop, socket, 64);
//   }
//
// Cancelling a task cancels the future it awaits — an operation's future asks the kernel
// to stop (rule 4) — and the coroutine sees CancelledError at that co_await. A task that
// is not awaiting anything sees it at its next suspension; one that never started never
// runs.
//
// Ownership: the Task handles own the task; the loop holds it only while a step is
// queued. A started task destroyed while pending (its last handle dropped, or the loop
// closed under it) is reported as an unclosed resource of kind `task` with the trace of
// the code that created it — asyncio's "Task was destroyed but it is pending!" — and its
// coroutine frame is destroyed, which cancels whatever it was awaiting.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/future.h"

RESTRACK_NAMESPACE_BEGIN

class EventLoop;

// The scheduling state of a task; see Task<T> for the user-facing handle.
class TaskBase : public FutureBase {
 public:
  explicit TaskBase(std::coroutine_handle<> coroutine);
  ~TaskBase() override;

  // Cancels the awaited future if there is one, else makes the next step throw
  // CancelledError (or, before the first step, ends the task without running it).
  // Returns false if the task is already done.
  bool cancel() override;

  // True once cancel() has been called on this pending task.
  bool cancel_requested() const noexcept { return cancel_requested_; }

  // "Task-7": unique per process, assigned at creation.
  const std::string& name() const noexcept { return name_; }

  // True once started on a loop.
  bool started() const noexcept { return started_; }

  // Binds the task to `loop` and schedules its first step. Throws std::logic_error if it
  // was already started. `where` names its steps in slow-callback logs.
  void start(EventLoop& loop, CallSite where);

  // Runs the coroutine until its next suspension. Called from the ready queue.
  void step();

  // Parks the task on `future`: its next step is scheduled when the future is done.
  void wait_on(std::shared_ptr<FutureBase> future);

  // After a wake-up: clears the awaited future; throws CancelledError if cancel() came
  // while the wake-up was already queued.
  void resume_after_wait();

  // Ends the task with the exception escaping its coroutine; CancelledError ends it
  // cancelled.
  void fail(std::exception_ptr error) noexcept;

  // The task whose step is running on this thread, or null.
  static TaskBase* running() noexcept;

 protected:
  void on_done() noexcept override;

 private:
  std::coroutine_handle<> coroutine_;
  std::shared_ptr<FutureBase> awaiting_;
  std::string name_;
  CallSite started_at_;
  bool started_ = false;
  bool stepped_ = false;
  bool must_cancel_ = false;
  bool cancel_requested_ = false;
  [[no_unique_address]] ResourceGuard guard_;
};

template <class T>
class Task;

namespace internal {
template <class T>
using TaskState = FutureState<T, TaskBase>;

template <class T>
class TaskPromiseBase {
 public:
  Task<T> get_return_object();
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { state_->fail(std::current_exception()); }

 protected:
  TaskState<T>* state_ = nullptr;
};

template <class T>
class TaskPromise : public TaskPromiseBase<T> {
 public:
  void return_value(T value) { this->state_->set_result(std::move(value)); }
};

template <>
class TaskPromise<void> : public TaskPromiseBase<void> {
 public:
  void return_void() { this->state_->set_result(); }
};

// Starts `task` on the running task's loop unless already started.
void start_on_running_loop(TaskBase& task, CallSite where);
}  // namespace internal

// A handle to a coroutine task. Copies refer to the same task.
template <class T = void>
class Task {
 public:
  using promise_type = internal::TaskPromise<T>;
  using State = internal::TaskState<T>;

  Task() = default;
  explicit Task(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

  bool done() const noexcept { return state_->done(); }
  bool cancelled() const noexcept { return state_->cancelled(); }
  bool cancel() { return state_->cancel(); }
  const std::string& name() const noexcept { return state_->name(); }
  void add_done_callback(std::function<void()> callback, CallSite where = CallSite::current()) {
    state_->add_done_callback(std::move(callback), where);
  }
  // The result, moved out (throws CancelledError or the coroutine's exception).
  T take_result() { return state_->take_result(); }

  const std::shared_ptr<State>& state() const noexcept { return state_; }

  // Awaiting a task that was not started starts it on the awaiting task's loop.
  internal::StateAwaiter<State> operator co_await() const {
    internal::start_on_running_loop(*state_, CallSite::current());
    return internal::StateAwaiter<State>(state_);
  }

 private:
  std::shared_ptr<State> state_;
};

template <class T>
Task<T> internal::TaskPromiseBase<T>::get_return_object() {
  auto state = std::make_shared<TaskState<T>>(
      std::coroutine_handle<TaskPromise<T>>::from_promise(static_cast<TaskPromise<T>&>(*this)));
  state_ = state.get();
  return Task<T>(std::move(state));
}

RESTRACK_NAMESPACE_END
