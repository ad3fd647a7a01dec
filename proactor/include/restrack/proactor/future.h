// restrack/proactor/future.h — Future<T>, a result that arrives later on an EventLoop.
//
// A future is pending until someone sets its result or exception or cancels it; then it
// is done for good. Done callbacks never run inside the call that finished the future:
// they go through the loop's ready queue (rule 3), in the order they were added.
// Coroutine tasks (restrack/proactor/task.h) await futures with `co_await`; awaiting a
// cancelled future throws CancelledError, a failed one rethrows its exception, and the
// result is moved out to the awaiting coroutine (await a future once).
//
//   restrack::Future<int> answer = restrack::Future<int>::create(loop);
//   loop.call_later(10ms, [answer]() mutable { answer.set_result(42); });
//   int value = co_await answer;  // inside a task
//
// A future keeps only a weak link to its loop: callbacks added or finished after the loop
// is closed or destroyed are dropped, never run on freed memory.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/errors.h"

RESTRACK_NAMESPACE_BEGIN

class EventLoop;
class TaskBase;

namespace internal {
struct LoopAnchor;  // the loop's half of the weak link (event_loop.cc)
template <class State>
class StateAwaiter;  // `co_await` on a future or a task (task.h)
}  // namespace internal

// The part of every future that does not depend on the result type. User code holds
// Future<T> or Task<T>; this is their shared state.
class FutureBase : public std::enable_shared_from_this<FutureBase> {
 public:
  // A pending future bound to `loop`.
  explicit FutureBase(EventLoop& loop);
  FutureBase(const FutureBase&) = delete;
  FutureBase& operator=(const FutureBase&) = delete;
  virtual ~FutureBase();

  bool done() const noexcept { return state_ != State::pending; }
  bool cancelled() const noexcept { return state_ == State::cancelled; }

  // Cancels a pending future: it becomes done and cancelled, and its callbacks are
  // scheduled. Returns false (and does nothing) if it was already done. Subclasses extend
  // it: a task cancels what it awaits, an operation's future asks the kernel (rule 4).
  virtual bool cancel();

  // Fails a pending future with `error`. Throws std::logic_error if already done.
  void set_exception(std::exception_ptr error);

  // The stored exception of a failed future, else null. Looking at it counts as
  // retrieving it (see Task: "task exception was never retrieved").
  std::exception_ptr exception() const noexcept;

  // Throws CancelledError if cancelled, the stored exception if failed; returns
  // otherwise. Throws std::logic_error while pending.
  void rethrow_if_failed() const {
    if (state_ != State::finished) rethrow_unfinished();
  }

  // Schedules `callback` on the loop's ready queue once the future is done (at once if
  // it already is). `where` names the callback in debug-mode logs and error reports.
  // Throws std::invalid_argument if `callback` is empty.
  void add_done_callback(std::function<void()> callback, CallSite where = CallSite::current());

  // The loop this future belongs to; null when unbound or when the loop is gone.
  EventLoop* loop() const noexcept;

 protected:
  enum class State : unsigned char { pending, finished, failed, cancelled };

  // An unbound future (a task before it starts); bind() it before finishing it.
  FutureBase() noexcept = default;
  // Attaches an unbound future to `loop`. Throws std::logic_error if bound elsewhere.
  void bind(EventLoop& loop);
  // Makes the future done in `state` and schedules the callbacks.
  void finish(State state);
  // Hook for subclasses, run once when the future becomes done, before any callback.
  virtual void on_done() noexcept {}
  bool failed() const noexcept { return state_ == State::failed; }
  // True once a failed future's exception was looked at (exception(), a result, co_await).
  bool exception_retrieved() const noexcept { return retrieved_; }

 private:
  friend class TaskBase;

  // What runs once the future is done: a callback, or the next step of a task awaiting
  // it. The task is held weakly: one that nobody owns any more is destroyed (and
  // reports it) instead of being kept alive by what it awaits.
  struct DoneCallback {
    std::function<void()> callback;
    std::weak_ptr<FutureBase> waiting_task;  // a TaskBase; set instead of `callback`
    CallSite where;
  };
  // Parks `task` on this future: its next step is scheduled once the future is done,
  // in order with the callbacks (TaskBase::wait_on).
  void add_waiting_task(std::weak_ptr<FutureBase> task);
  void add(DoneCallback callback);
  void schedule(DoneCallback callback);
  // rethrow_if_failed() of a future not finished with a result.
  [[noreturn]] void rethrow_unfinished() const;
  // This future as a task, else null: the task-cycle check walks awaited tasks with it.
  virtual const TaskBase* as_task() const noexcept { return nullptr; }

  std::shared_ptr<internal::LoopAnchor> anchor_;
  // Most futures are awaited by one task and get no callback: that task is kept here,
  // the others and the callbacks in `callbacks_`, in the order added. The waiter, when
  // there is one, was added before all of `callbacks_` (a task that comes to wait after a
  // callback queues behind it); an expired waiter counts as none.
  std::weak_ptr<FutureBase> waiter_;
  std::vector<DoneCallback> callbacks_;
  std::exception_ptr error_;
  State state_ = State::pending;
  mutable bool retrieved_ = false;
};

// A future's value storage on top of `Base` (FutureBase, or TaskBase for tasks).
template <class T, class Base = FutureBase>
class FutureState : public Base {
 public:
  using Base::Base;

  // Completes a pending future with `value`. Throws std::logic_error if already done.
  void set_result(T value) {
    if (this->done()) throw std::logic_error("set_result on a future that is already done");
    value_.emplace(std::move(value));
    this->finish(FutureBase::State::finished);
  }

  // The result, moved out; throws like rethrow_if_failed().
  T take_result() {
    this->rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <class Base>
class FutureState<void, Base> : public Base {
 public:
  using Base::Base;

  void set_result() {
    if (this->done()) throw std::logic_error("set_result on a future that is already done");
    this->finish(FutureBase::State::finished);
  }

  void take_result() { this->rethrow_if_failed(); }
};

// A handle to a shared future state. Copies refer to the same future.
template <class T>
class Future {
 public:
  using State = FutureState<T>;

  Future() = default;
  explicit Future(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

  // A new pending future bound to `loop`.
  static Future create(EventLoop& loop) { return Future(std::make_shared<State>(loop)); }

  bool done() const noexcept { return state_->done(); }
  bool cancelled() const noexcept { return state_->cancelled(); }
  bool cancel() { return state_->cancel(); }
  template <class... Value>
  void set_result(Value&&... value) {
    state_->set_result(std::forward<Value>(value)...);
  }
  void set_exception(std::exception_ptr error) { state_->set_exception(std::move(error)); }
  std::exception_ptr exception() const noexcept { return state_->exception(); }
  void add_done_callback(std::function<void()> callback, CallSite where = CallSite::current()) {
    state_->add_done_callback(std::move(callback), where);
  }
  // The result, moved out (throws CancelledError or the stored exception).
  T take_result() { return state_->take_result(); }

  // Only inside a restrack task (task.h). Awaiting a temporary (`co_await sock_recv(...)`)
  // hands its state to the awaiter instead of sharing it.
  internal::StateAwaiter<State> operator co_await() const& {
    return internal::StateAwaiter<State>(state_);
  }
  internal::StateAwaiter<State> operator co_await() && {
    return internal::StateAwaiter<State>(std::move(state_));
  }

 private:
  std::shared_ptr<State> state_;
};

RESTRACK_NAMESPACE_END
