#include "restrack/proactor/task.h"

#include <atomic>
#include <string>

#include "loop_access.h"
#include "loop_frames.h"
#include "restrack/kind.h"
#include "restrack/proactor/event_loop.h"
#include "thread_slot.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

constexpr internal::ThreadValue<TaskBase*, struct RunningTask> running_task;
std::atomic<std::uint64_t> next_task_number{1};

std::string describe_task(const void* owner) { return static_cast<const TaskBase*>(owner)->name(); }

}  // namespace

TaskBase::TaskBase(std::coroutine_handle<> coroutine)
    : coroutine_(coroutine),
      name_("Task-" + std::to_string(next_task_number.fetch_add(1, std::memory_order_relaxed))) {
  // Opened here, inside the call of the coroutine function, so the trace shows who
  // created the task.
  guard_.open(kinds::task, this, &describe_task, internal::kLoopDispatchFrames);
  creation_trace_ = guard_.allocation_trace();
}

TaskBase::~TaskBase() {
  if (!done()) {
    if (started_) {
      // "Task was destroyed but it is pending": reported before the frame goes, because
      // destroying the frame runs the coroutine's destructors (which may report too).
      guard_.release_and_warn([]() noexcept {}, DiagnosticType::destroyed_pending);
    } else {
      // Never started: the coroutine never ran, so nothing was left half done.
      guard_.forget();
    }
  } else if (failed() && !exception_retrieved()) {
    report_unretrieved_exception();
  }
  coroutine_.destroy();
}

void TaskBase::report_unretrieved_exception() noexcept {
  ExceptionContext context{"task exception was never retrieved", nullptr, started_at_, name_,
                           creation_trace_};
  context.exception = FutureBase::exception();
  if (EventLoop* loop = this->loop()) {
    loop->call_exception_handler(context);
  } else {
    EventLoop::default_exception_handler(context);
  }
}

bool TaskBase::cancel() {
  if (done()) return false;
  cancel_requested_ = true;
  // Rule 4: cancelling the awaited future cancels the operation behind it.
  if (awaiting_ != nullptr && awaiting_->cancel()) return true;
  must_cancel_ = true;
  return true;
}

void TaskBase::start(EventLoop& loop, CallSite where) {
  if (started_) throw std::logic_error(name_ + " was already started");
  bind(loop);
  // Scheduled before it counts as started: if the loop is closed this throws, and a task
  // that never ran is not reported as destroyed while pending.
  internal::LoopAccess::schedule(
      loop, [self = std::static_pointer_cast<TaskBase>(shared_from_this())] { self->step(); },
      where);
  started_ = true;
  started_at_ = where;
}

void TaskBase::step() {
  if (done()) return;
  if (must_cancel_ && !stepped_) {
    must_cancel_ = false;
    finish(State::cancelled);
    return;
  }
  stepped_ = true;
  TaskBase* const previous = running_task.exchange(this);
  coroutine_.resume();
  running_task.set(previous);
}

void TaskBase::wait_on(FutureBase& future) {
  if (&future == this) throw std::logic_error(name_ + " awaits itself");
  // A task awaiting a task that (through others) awaits it would never finish, and the
  // tasks would keep each other alive for ever: refuse the await that closes the cycle.
  const TaskBase* first = future.as_task();
  for (const TaskBase* link = first; link != nullptr;
       link = link->awaiting_ == nullptr ? nullptr : link->awaiting_->as_task()) {
    if (link->awaiting_ != this) continue;
    std::string message = name_ + " awaits " + first->name_;
    for (const TaskBase* step = first; step != link && step != nullptr;) {
      step = step->awaiting_ == nullptr ? nullptr : step->awaiting_->as_task();
      if (step != nullptr) message += ", which awaits " + step->name_;
    }
    message += ", which awaits " + name_;
    throw std::logic_error(message + ": a cycle of tasks awaiting each other never finishes");
  }
  awaiting_ = &future;
  future.add_waiting_task(weak_from_this());
}

void TaskBase::resume_after_wait() {
  awaiting_ = nullptr;
  if (must_cancel_) {
    must_cancel_ = false;
    throw CancelledError();
  }
}

void TaskBase::fail(std::exception_ptr error) noexcept {
  if (done()) return;
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError&) {
    finish(State::cancelled);
  } catch (...) {
    set_exception(std::move(error));
  }
}

void TaskBase::on_done() noexcept {
  awaiting_ = nullptr;
  // Unregistered without a close trace (as operations are): a task ends once, so no
  // "closed twice" report could ever show one.
  guard_.forget();
}

namespace internal {

void TaskAccess::start_on_running_loop(TaskBase& task, CallSite where) {
  if (task.started_) return;
  TaskBase* awaiting_task = running();
  EventLoop* loop = awaiting_task == nullptr ? nullptr : awaiting_task->loop();
  if (loop == nullptr) throw std::logic_error("co_await on a task outside a restrack task");
  task.start(*loop, where);
}

TaskBase* TaskAccess::running() noexcept { return running_task.get(); }

void TaskAccess::wait_on(FutureBase& future) {
  TaskBase* task = running();
  if (task == nullptr) throw std::logic_error("co_await on a future outside a restrack task");
  task->wait_on(future);
}

void TaskAccess::resume_after_wait() {
  if (TaskBase* task = running()) task->resume_after_wait();
}

void TaskAccess::keep_running(TaskBase& task) {
  EventLoop* loop = task.loop();
  if (loop == nullptr || loop->is_closed()) return;
  LoopAccess::keep_running(*loop, std::static_pointer_cast<TaskBase>(task.shared_from_this()));
}

}  // namespace internal
RESTRACK_NAMESPACE_END
