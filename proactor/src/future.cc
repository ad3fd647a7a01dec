#include "restrack/proactor/future.h"

#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

FutureBase::FutureBase(EventLoop& loop) : anchor_(loop.anchor()) {}

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

void FutureBase::rethrow_if_failed() const {
  switch (state_) {
    case State::pending:
      throw std::logic_error("the result of a pending future was requested");
    case State::cancelled:
      throw CancelledError();
    case State::failed:
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

void FutureBase::bind(EventLoop& loop) {
  if (anchor_ != nullptr && anchor_ != loop.anchor()) {
    throw std::logic_error("future is bound to another event loop");
  }
  anchor_ = loop.anchor();
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
  loop->call_soon(std::move(callback.callback), callback.where);
}

namespace internal {

void wait_on(std::shared_ptr<FutureBase> future) {
  TaskBase* task = TaskBase::running();
  if (task == nullptr) throw std::logic_error("co_await on a future outside a restrack task");
  task->wait_on(std::move(future));
}

void resume_after_wait() {
  if (TaskBase* task = TaskBase::running()) task->resume_after_wait();
}

}  // namespace internal

RESTRACK_NAMESPACE_END
