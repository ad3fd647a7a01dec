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

void FutureBase::rethrow_if_failed() const {
  switch (state_) {
    case State::pending:
      throw std::logic_error("the result of a pending future was requested");
    case State::cancelled:
      throw CancelledError();
    case State::failed:
      retrieved_ = true;
      std::rethrow_exception(error_);
    case State::finished:
      break;
  }
}

void FutureBase::add_done_callback(std::function<void()> callback, CallSite where) {
  if (!callback) throw std::invalid_argument("add_done_callback with an empty callback");
  add(DoneCallback{std::move(callback), {}, where});
}

void FutureBase::add_waiting_task(std::weak_ptr<FutureBase> task, CallSite where) {
  add(DoneCallback{{}, std::move(task), where});
}

void FutureBase::add(DoneCallback callback) {
  if (done()) {
    schedule(std::move(callback));
  } else if (!first_callback_) {
    first_callback_.emplace(std::move(callback));
  } else {
    more_callbacks_.push_back(std::move(callback));
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
  if (!first_callback_) return;
  DoneCallback first = std::move(*first_callback_);
  first_callback_.reset();
  std::vector<DoneCallback> more = std::move(more_callbacks_);
  more_callbacks_.clear();
  // Rule 3: callbacks run from the ready queue, never inside the call that finished us.
  schedule(std::move(first));
  for (DoneCallback& callback : more) schedule(std::move(callback));
}

void FutureBase::schedule(DoneCallback callback) {
  EventLoop* loop = this->loop();
  // A closed (or destroyed) loop runs nothing more; its ready queue is gone.
  if (loop == nullptr || loop->is_closed()) return;
  if (callback.callback) {
    internal::LoopAccess::schedule(*loop, std::move(callback.callback), callback.where);
  } else {
    internal::LoopAccess::schedule_step(*loop, std::move(callback.waiting_task), callback.where);
  }
}

RESTRACK_NAMESPACE_END
