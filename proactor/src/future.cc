#include "restrack/proactor/future.h"

#include "loop_access.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN

FutureBase::FutureBase(EventLoop& loop) : anchor_(internal::LoopAccess::anchor(loop)) {}

FutureBase::~FutureBase() = default;

bool FutureBase::cancel() {
  if (done()) return false;
  finish(State::cancelled);
  return true;
}

void FutureBase::set_exception(std::exception_ptr error) {
  if (done()) throw std::logic_error("set_exception on a future that is already done");
  error_ = std::move(error);
  finish(State::failed);
}

std::exception_ptr FutureBase::exception() const noexcept {
  retrieved_ = true;
  return error_;
}

void FutureBase::rethrow_unfinished() const {
  switch (state_) {
    case State::cancelled:
      throw CancelledError();
    case State::failed:
      retrieved_ = true;
      std::rethrow_exception(error_);
    case State::pending:
    case State::finished:  // not called for a finished future: its result is there
      break;
  }
  throw std::logic_error("the result of a pending future was requested");
}

void FutureBase::add_done_callback(std::function<void()> callback, CallSite where) {
  if (!callback) throw std::invalid_argument("add_done_callback with an empty callback");
  add(DoneCallback{std::move(callback), {}, where});
}

void FutureBase::add_waiting_task(std::weak_ptr<FutureBase> task) {
  if (callbacks_.empty() && waiter_.expired()) {
    waiter_ = std::move(task);
  } else {
    // Its step gets the site of the task's start in the ready queue (run_ready).
    add(DoneCallback{{}, std::move(task), CallSite{}});
  }
}

void FutureBase::add(DoneCallback callback) {
  if (done()) {
    schedule(std::move(callback));
  } else {
    callbacks_.push_back(std::move(callback));
  }
}

EventLoop* FutureBase::loop() const noexcept { return anchor_ ? anchor_->loop : nullptr; }

void FutureBase::bind(EventLoop& loop) {
  const std::shared_ptr<internal::LoopAnchor>& anchor = internal::LoopAccess::anchor(loop);
  if (anchor_ != nullptr && anchor_ != anchor) {
    throw std::logic_error("future is bound to another event loop");
  }
  anchor_ = anchor;
}

void FutureBase::finish(State state) {
  state_ = state;
  on_done();
  // Rule 3: callbacks run from the ready queue, never inside the call that finished us.
  if (!waiter_.expired()) {
    EventLoop* loop = this->loop();
    // A closed (or destroyed) loop runs nothing more; its ready queue is gone.
    if (loop != nullptr && !loop->is_closed()) {
      internal::LoopAccess::schedule_step(*loop, std::move(waiter_));
    }
  }
  if (callbacks_.empty()) return;
  std::vector<DoneCallback> callbacks = std::move(callbacks_);
  callbacks_.clear();
  for (DoneCallback& callback : callbacks) schedule(std::move(callback));
}

void FutureBase::schedule(DoneCallback callback) {
  EventLoop* loop = this->loop();
  // A closed (or destroyed) loop runs nothing more; its ready queue is gone.
  if (loop == nullptr || loop->is_closed()) return;
  if (callback.callback) {
    internal::LoopAccess::schedule(*loop, std::move(callback.callback), callback.where);
  } else {
    internal::LoopAccess::schedule_step(*loop, std::move(callback.waiting_task));
  }
}

RESTRACK_NAMESPACE_END
