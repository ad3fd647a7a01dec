#include "restrack/proactor/task.h"
#include "loop_frames.h"

#include <atomic>
#include <string>

#include "restrack/kind.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

thread_local TaskBase* running_task = nullptr;
std::atomic<std::uint64_t> next_task_number{1};

std::string describe_task(const void* owner) { return static_cast<const TaskBase*>(owner)->name(); }

}  // namespace

TaskBase::TaskBase(std::coroutine_handle<> coroutine)
    : coroutine_(coroutine),
      name_("Task-" + std::to_string(next_task_number.fetch_add(1, std::memory_order_relaxed))) {
  // Opened here, inside the call of the coroutine function, so the trace shows who
  // created the task.
  guard_.open(kinds::task, this, &describe_task, internal::kLoopDispatchFrames);
}

TaskBase::~TaskBase() {
  if (!done()) {
    if (started_) {
      // "Task was destroyed but it is pending": reported before the frame goes, because
      // destroying the frame runs the coroutine's destructors (which may report too).
      guard_.release_and_warn([]() noexcept {}, DiagnosticType::destroyed_pending);
    } else {
      // Never started: the coroutine never ran, so nothing was left half done.
      guard_.close();
    }
  }
  coroutine_.destroy();
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
  started_ = true;
  started_at_ = where;
  loop.call_soon([self = std::static_pointer_cast<TaskBase>(shared_from_this())] { self->step(); },
                 where);
}

void TaskBase::step() {
  if (done()) return;
  if (must_cancel_ && !stepped_) {
    must_cancel_ = false;
    finish(State::cancelled);
    return;
  }
  stepped_ = true;
  TaskBase* const previous = std::exchange(running_task, this);
  coroutine_.resume();
  running_task = previous;
}

void TaskBase::wait_on(std::shared_ptr<FutureBase> future) {
  awaiting_ = std::move(future);
  awaiting_->add_done_callback(
      [weak = weak_from_this()] {
        // The loop holds tasks weakly while they wait: a task nobody owns any more is
        // destroyed (and reports it) instead of being kept alive by what it awaits.
        if (std::shared_ptr<FutureBase> self = weak.lock()) static_cast<TaskBase&>(*self).step();
      },
      started_at_);
}

void TaskBase::resume_after_wait() {
  awaiting_.reset();
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

TaskBase* TaskBase::running() noexcept { return running_task; }

void TaskBase::on_done() noexcept {
  awaiting_.reset();
  guard_.close();
}

namespace internal {

void start_on_running_loop(TaskBase& task, CallSite where) {
  if (task.started()) return;
  TaskBase* awaiting_task = TaskBase::running();
  EventLoop* loop = awaiting_task == nullptr ? nullptr : awaiting_task->loop();
  if (loop == nullptr) throw std::logic_error("co_await on a task outside a restrack task");
  task.start(*loop, where);
}

}  // namespace internal

RESTRACK_NAMESPACE_END
