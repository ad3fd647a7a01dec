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
  DoneCallback done_callback{std::move(callback), where};
  if (done()) {
    schedule(std::move(done_callback));
  } else {
    callbacks_.push_back(std::move(done_callback));
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
  std::vector<DoneCallback> callbacks = std::move(callbacks_);
  callbacks_.clear();
  // Rule 3: callbacks run from the ready queue, never inside the call that finished us.
  for (DoneCallback& callback : callbacks) schedule(std::move(callback));
}

void FutureBase::schedule(DoneCallback callback) {
  EventLoop* loop = this->loop();
  // A closed (or destroyed) loop runs nothing more; its ready queue is gone.
  if (loop == nullptr || loop->is_closed()) return;
  internal::LoopAccess::schedule(*loop, std::move(callback.callback), callback.where);
}

RESTRACK_NAMESPACE_END
