// restrack/proactor/task.h — Task<T>, a C++20 coroutine run by an EventLoop.
//
// A coroutine returning Task<T> does nothing until it is started with
// EventLoop::create_task() (or awaited by a running task, or passed to
// run_until_complete()); then the loop runs it step by step, each step a callback of its
// ready queue. A task is itself a future: others may await it, add done callbacks, or
// cancel it.
//
//   restrack::Task<std::string> read_greeting(restrack::EventLoop& loop,
//                                             const restrack::Socket& socket) {
//     co_return co_await restrack::sock_recv(loop, socket, 64);
//   }
//
// Cancelling a task cancels the future it awaits — an operation's future asks the kernel
// to stop (rule 4) — and the coroutine sees CancelledError at that co_await. A task that
// is not awaiting anything sees it at its next suspension; one that never started never
// runs. CancelledError is not a std::exception (restrack/proactor/errors.h), so an
// ordinary `catch (const std::exception&)` does not swallow it.
//
// Ownership: the Task handles own the task; the loop holds it only while a step is
// queued. A started task destroyed while pending (its last handle dropped, or the loop
// closed under it) is reported as an unclosed resource of kind `task` with the trace of
// the code that created it — asyncio's "Task was destroyed but it is pending!" — and its
// coroutine frame is destroyed, which cancels whatever it was awaiting. A task that
// failed and is destroyed before anyone looked at its exception (awaited it, took its
// result, or called exception()) reports "task exception was never retrieved" the same
// way, and passes the exception to the loop's exception handler.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/future.h"

RESTRACK_NAMESPACE_BEGIN

class EventLoop;
namespace internal {
struct TaskAccess;
}

// The scheduling state of a task, shared by its Task<T> handles. User code uses Task<T>.
class TaskBase : public FutureBase {
 public:
  explicit TaskBase(std::coroutine_handle<> coroutine);
  ~TaskBase() override;

  // Cancels the awaited future if there is one, else makes the next step throw
  // CancelledError (or, before the first step, ends the task without running it).
  // Returns false if the task is already done.
  bool cancel() override;

  // "Task-7": unique per process, assigned at creation.
  const std::string& name() const noexcept { return name_; }

 protected:
  void on_done() noexcept override;

 private:
  friend struct internal::TaskAccess;

  // Binds the task to `loop` and schedules its first step. Throws std::logic_error if it
  // was already started, LoopClosedError if the loop is closed (the task then counts as
  // never started).
  void start(EventLoop& loop, CallSite where);
  // Runs the coroutine until its next suspension. Called from the ready queue.
  void step();
  // Parks the task on `future`: its next step is scheduled when the future is done.
  // Throws std::logic_error if `future` is this task itself.
  void wait_on(FutureBase& future);
  // After a wake-up: clears the awaited future; throws CancelledError if cancel() came
  // while the wake-up was already queued.
  void resume_after_wait();
  // Ends the task with the exception escaping its coroutine; CancelledError ends it
  // cancelled.
  void fail(std::exception_ptr error) noexcept;
  void report_unretrieved_exception() noexcept;
  const TaskBase* as_task() const noexcept override { return this; }

  std::coroutine_handle<> coroutine_;
  // The future the task is suspended on, else null. The awaiter in the coroutine's frame
  // owns it until the task resumes (or the frame is destroyed, in ~TaskBase).
  FutureBase* awaiting_ = nullptr;
  std::string name_;
  CallSite started_at_;
  TraceId creation_trace_ = kNoTrace;
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

// What the loop, the combinators and the coroutine machinery do with a task; not for
// user code.
struct TaskAccess {
  template <class T>
  static const std::shared_ptr<TaskState<T>>& state(const Task<T>& task) noexcept {
    return task.state_;
  }
  static bool started(const TaskBase& task) noexcept { return task.started_; }
  static bool cancel_requested(const TaskBase& task) noexcept { return task.cancel_requested_; }
  // Where the task was started (create_task, or the co_await that started it).
  static CallSite started_at(const TaskBase& task) noexcept { return task.started_at_; }
  static void start(TaskBase& task, EventLoop& loop, CallSite where) { task.start(loop, where); }
  // Runs the task's next step (from the loop's ready queue).
  static void step(TaskBase& task) { task.step(); }
  // Starts `task` on the running task's loop unless already started.
  static void start_on_running_loop(TaskBase& task, CallSite where);
  static void fail(TaskBase& task, std::exception_ptr error) noexcept {
    task.fail(std::move(error));
  }
  // The task whose step is running on this thread, or null.
  static TaskBase* running() noexcept;
  // Parks the running task on `future`, which the caller keeps alive until the task
  // resumes; throws std::logic_error outside a task.
  static void wait_on(FutureBase& future);
  // Called when the running task resumes after wait_on().
  static void resume_after_wait();
  // Lets `task` run to its end even though its handles are dropped: the loop keeps it
  // until it is done (or the loop closes), and its exception counts as retrieved.
  static void keep_running(TaskBase& task);
};

// `co_await` on a future or task state.
template <class State>
class StateAwaiter {
 public:
  explicit StateAwaiter(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
  StateAwaiter(StateAwaiter&& other) noexcept
      : state_(std::move(other.state_)), suspended_(std::exchange(other.suspended_, false)) {}
  StateAwaiter& operator=(StateAwaiter&&) = delete;
  // Destroyed while suspended: the awaiting task itself is being destroyed, so what it
  // waited for is cancelled (an operation is then asked to stop, rule 4).
  ~StateAwaiter() {
    if (suspended_ && !state_->done()) state_->cancel();
  }

  bool await_ready() const noexcept { return state_->done(); }
  void await_suspend(std::coroutine_handle<>) {
    TaskAccess::wait_on(*state_);
    suspended_ = true;
  }
  decltype(auto) await_resume() {
    if (suspended_) {
      suspended_ = false;
      TaskAccess::resume_after_wait();
    }
    return state_->take_result();
  }

 private:
  std::shared_ptr<State> state_;
  bool suspended_ = false;
};

template <class T>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};

template <class T>
class TaskPromiseBase {
 public:
  Task<T> get_return_object();
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { TaskAccess::fail(*state_, std::current_exception()); }

  // Every co_await in a task passes through here, with the default argument evaluated at
  // the co_await itself: a task started by being awaited is named by that line.
  template <class Awaitable>
  Awaitable&& await_transform(Awaitable&& awaitable, CallSite where = CallSite::current()) {
    if constexpr (IsTask<std::remove_cvref_t<Awaitable>>::value) {
      TaskAccess::start_on_running_loop(*TaskAccess::state(awaitable), where);
    }
    return std::forward<Awaitable>(awaitable);
  }

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
}  // namespace internal

// A handle to a coroutine task. Copies refer to the same task.
template <class T = void>
class Task {
 public:
  using promise_type = internal::TaskPromise<T>;

  Task() = default;

  bool done() const noexcept { return state_->done(); }
  bool cancelled() const noexcept { return state_->cancelled(); }
  bool cancel() { return state_->cancel(); }
  const std::string& name() const noexcept { return state_->name(); }
  void add_done_callback(std::function<void()> callback, CallSite where = CallSite::current()) {
    state_->add_done_callback(std::move(callback), where);
  }
  // The result, moved out (throws CancelledError or the coroutine's exception).
  T take_result() { return state_->take_result(); }
  // The coroutine's exception if it failed, else null.
  std::exception_ptr exception() const noexcept { return state_->exception(); }

  // Awaiting a task that was not started starts it on the awaiting task's loop, named by
  // the line of the co_await in slow-callback logs (a task's co_await reaches here
  // already started, see TaskPromiseBase::await_transform; from other coroutines the
  // return address names the awaiting code, hence no inlining).
  [[gnu::noinline]] internal::StateAwaiter<internal::TaskState<T>> operator co_await() const {
    internal::TaskAccess::start_on_running_loop(
        *state_, CallSite::from_return_address(__builtin_return_address(0)));
    return internal::StateAwaiter<internal::TaskState<T>>(state_);
  }

 private:
  friend struct internal::TaskAccess;
  friend class internal::TaskPromiseBase<T>;
  explicit Task(std::shared_ptr<internal::TaskState<T>> state) noexcept
      : state_(std::move(state)) {}

  std::shared_ptr<internal::TaskState<T>> state_;
};

template <class T>
Task<T> internal::TaskPromiseBase<T>::get_return_object() {
  auto state = std::make_shared<TaskState<T>>(
      std::coroutine_handle<TaskPromise<T>>::from_promise(static_cast<TaskPromise<T>&>(*this)));
  state_ = state.get();
  return Task<T>(std::move(state));
}

RESTRACK_NAMESPACE_END
