#include "restrack/proactor/event_loop.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "backend.h"
#include "exception_text.h"
#include "log.h"
#include "loop_access.h"
#include "restrack/diagnostic.h"
#include "restrack/kind.h"
#include "restrack/proactor/errors.h"
#include "thread_slot.h"

RESTRACK_NAMESPACE_BEGIN

namespace internal {
struct ScheduledCallback {
  EventLoop::Clock::time_point when;  // timers only
  std::uint64_t sequence = 0;         // timers only: order among equal deadlines
  EventLoop::Callback callback;
  CallSite where;
  bool cancelled = false;
};
}  // namespace internal

namespace {

using internal::ScheduledCallback;

constexpr internal::ThreadValue<EventLoop*, struct RunningEventLoop> running_event_loop;

constexpr std::string_view kNeverRetrieved = "task exception was never retrieved";

// std::push_heap builds a max-heap; this order puts the earliest timer (first scheduled
// among equals) on top.
bool fires_later(const std::shared_ptr<ScheduledCallback>& a,
                 const std::shared_ptr<ScheduledCallback>& b) {
  if (a->when != b->when) return a->when > b->when;
  return a->sequence > b->sequence;
}

// Runs a cancellable callback. The callback is moved out first: cancelling its own
// handle while it runs releases the entry's copy, not the closure that is executing.
void run_entry(ScheduledCallback& entry) {
  if (entry.cancelled) return;
  EventLoop::Callback callback = std::move(entry.callback);
  entry.callback = nullptr;
  callback();
}

// A sleep's future owns its timer, so cancelling the sleep cancels the timer.
class SleepState final : public FutureState<void> {
 public:
  using FutureState<void>::FutureState;
  bool cancel() override {
    if (!FutureState<void>::cancel()) return false;
    timer.cancel();
    return true;
  }
  TimerHandle timer;
};

}  // namespace

void Handle::cancel() noexcept {
  if (entry_ == nullptr) return;
  entry_->cancelled = true;
  // Releases what the callback holds (often a task) now, not when it would have run.
  entry_->callback = nullptr;
}

bool Handle::cancelled() const noexcept { return entry_ != nullptr && entry_->cancelled; }

EventLoop::EventLoop(EventLoopOptions options)
    : EventLoop(internal::make_platform_backend(options), options) {}

EventLoop::EventLoop(std::unique_ptr<internal::Backend> backend, EventLoopOptions options)
    : options_(options),
      backend_(std::move(backend)),
      anchor_(std::make_shared<internal::LoopAnchor>(internal::LoopAnchor{this})) {
  guard_.open(kinds::event_loop, this, [](const void* owner) {
    return "backend=" + std::string(static_cast<const EventLoop*>(owner)->backend_->name());
  });
}

EventLoop::~EventLoop() {
  if (!closed_) {
    guard_.release_and_warn([this]() noexcept {
      // Rule F: a running loop is not closed from under its own callbacks.
      if (!running_) release_resources();
    });
  }
  anchor_->loop = nullptr;
}

void EventLoop::schedule(Callback callback, CallSite where) {
  if (closed_) throw LoopClosedError("event loop is closed");
  ready_.push_back(ReadyCallback{std::move(callback), where});
}

Handle EventLoop::call_soon(Callback callback, CallSite where) {
  if (closed_) throw LoopClosedError("event loop is closed");
  auto entry = std::make_shared<ScheduledCallback>();
  entry->callback = std::move(callback);
  entry->where = where;
  ready_.push_back(ReadyCallback{[entry] { run_entry(*entry); }, where});
  return Handle(std::move(entry));
}

void EventLoop::call_soon_threadsafe(Callback callback, CallSite where) {
  bool must_wake = false;
  {
    std::lock_guard lock(threadsafe_mutex_);
    if (threadsafe_closed_) throw LoopClosedError("event loop is closed");
    threadsafe_.push_back(ReadyCallback{std::move(callback), where});
    // One wake-up per batch: later posts find it on its way and only queue.
    if (!posted_.load(std::memory_order_relaxed)) {
      posted_.store(true, std::memory_order_release);
      wakers_.fetch_add(1, std::memory_order_relaxed);
      must_wake = true;
    }
  }
  if (must_wake) {
    backend_->wake();
    // From here on close() may release the backend.
    wakers_.fetch_sub(1, std::memory_order_release);
  }
}

TimerHandle EventLoop::call_later(Clock::duration delay, Callback callback, CallSite where) {
  const Clock::time_point now = Clock::now();
  // Saturate: duration::max() means "never", not an overflow into the past.
  const Clock::time_point when =
      delay > Clock::time_point::max() - now ? Clock::time_point::max() : now + delay;
  return call_at(when, std::move(callback), where);
}

TimerHandle EventLoop::call_at(Clock::time_point when, Callback callback, CallSite where) {
  if (closed_) throw LoopClosedError("event loop is closed");
  auto entry = std::make_shared<ScheduledCallback>();
  entry->when = when;
  entry->sequence = timer_sequence_++;
  entry->callback = std::move(callback);
  entry->where = where;
  timers_.push_back(entry);
  std::push_heap(timers_.begin(), timers_.end(), fires_later);
  return TimerHandle(std::move(entry));
}

void EventLoop::run_forever() {
  if (closed_) throw LoopClosedError("event loop is closed");
  if (running_) throw std::logic_error("event loop is already running");
  if (running_event_loop.get() != nullptr) {
    throw std::logic_error("another event loop is running on this thread");
  }
  running_ = true;
  running_event_loop.set(this);
  struct ResetOnExit {
    EventLoop& loop;
    ~ResetOnExit() {
      loop.running_ = false;
      loop.stopping_ = false;
      running_event_loop.set(nullptr);
    }
  } reset{*this};
  while (true) {
    run_once();
    if (stopping_) break;
  }
}

void EventLoop::close() {
  if (running_) throw std::logic_error("cannot close a running event loop");
  if (closed_) return;
  release_resources();
  guard_.close();
}

Future<void> EventLoop::sleep(Clock::duration delay, CallSite where) {
  auto state = std::make_shared<SleepState>(*this);
  state->timer = call_later(
      delay,
      [weak = std::weak_ptr<SleepState>(state)] {
        if (std::shared_ptr<SleepState> sleeping = weak.lock(); sleeping && !sleeping->done()) {
          sleeping->set_result();
        }
      },
      where);
  return Future<void>(std::move(state));
}

void EventLoop::set_exception_handler(ExceptionHandler handler) {
  exception_handler_ = std::move(handler);
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
  if (!exception_handler_) {
    default_exception_handler(context);
    return;
  }
  try {
    exception_handler_(*this, context);
  } catch (...) {
    try {
      internal::proactor_logger().error("the exception handler threw {} while handling: {}",
                                        internal::describe_exception(std::current_exception()),
                                        context.message);
    } catch (...) {
    }
  }
}

void EventLoop::default_exception_handler(const ExceptionContext& context) noexcept {
  try {
    const std::string what = internal::describe_exception(context.exception);
    if (context.message == kNeverRetrieved) {
      report_diagnostic(DiagnosticType::exception_never_retrieved, kinds::task,
                        context.task + " " + what, context.task_trace);
      return;
    }
    std::string subject(context.message);
    if (!context.task.empty()) subject += " of " + context.task;
    internal::proactor_logger().error("{} scheduled at {}: {}", subject, context.where.to_string(),
                                      what);
  } catch (...) {
  }
}

std::size_t EventLoop::operations_in_flight() const noexcept { return backend_->in_flight(); }

EventLoop* EventLoop::running() noexcept { return running_event_loop.get(); }

EventLoop& EventLoop::running_loop() {
  if (running_event_loop.get() == nullptr)
    throw std::logic_error("no event loop runs on this thread");
  return *running_event_loop.get();
}

std::chrono::nanoseconds EventLoop::poll_timeout() {
  if (!ready_.empty() || stopping_ || posted_.load(std::memory_order_acquire)) {
    return std::chrono::nanoseconds(0);
  }
  while (!timers_.empty() && timers_.front()->cancelled) {
    std::pop_heap(timers_.begin(), timers_.end(), fires_later);
    timers_.pop_back();
  }
  if (timers_.empty()) return std::chrono::nanoseconds(-1);
  return std::max(Clock::duration::zero(), timers_.front()->when - Clock::now());
}

void EventLoop::run_once() {
  backend_->poll(poll_timeout(), completed_);
  for (std::unique_ptr<internal::Operation>& operation : completed_) {
    internal::Operation& delivered = *operation;
    try {
      delivered.complete(std::move(operation));
    } catch (...) {
      call_exception_handler(ExceptionContext{"exception while delivering a completion",
                                              std::current_exception(),
                                              CallSite{},
                                              {},
                                              kNoTrace});
    }
  }
  completed_.clear();

  if (posted_.load(std::memory_order_acquire)) {
    std::vector<ReadyCallback> posted;
    {
      std::lock_guard lock(threadsafe_mutex_);
      posted.swap(threadsafe_);
      posted_.store(false, std::memory_order_relaxed);
    }
    for (ReadyCallback& callback : posted) ready_.push_back(std::move(callback));
  }

  // Without timers there is nothing to compare the clock with: it is not read.
  const Clock::time_point now = timers_.empty() ? Clock::time_point() : Clock::now();
  while (!timers_.empty() && timers_.front()->when <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), fires_later);
    std::shared_ptr<ScheduledCallback> timer = std::move(timers_.back());
    timers_.pop_back();
    if (!timer->cancelled) {
      const CallSite where = timer->where;
      // Checked again when it runs: cancel() still works while the timer waits its turn.
      ready_.push_back(ReadyCallback{[due = std::move(timer)] { run_entry(*due); }, where});
    }
  }

  // Only what is ready now: callbacks scheduled by these run on the next iteration.
  now_running_.swap(ready_);
  for (ReadyCallback& ready : now_running_) {
    run_ready(ready);
    // What it holds (a task, perhaps its last owner) goes now, before the next one runs.
    ready.callback = nullptr;
    ready.task.reset();
  }
  now_running_.clear();
}

void EventLoop::run_ready(ReadyCallback& ready) {
  const Clock::time_point start = options_.debug ? Clock::now() : Clock::time_point();
  // A task's step: the task, kept alive while it runs.
  std::shared_ptr<FutureBase> task;
  try {
    if (!ready.task_step) {
      ready.callback();
    } else if ((task = ready.task.lock())) {
      internal::TaskAccess::step(static_cast<TaskBase&>(*task));
    }
  } catch (...) {
    call_exception_handler(ExceptionContext{"exception in callback",
                                            std::current_exception(),
                                            where_of(ready, task.get()),
                                            {},
                                            kNoTrace});
  }
  if (!options_.debug) return;
  const auto took = Clock::now() - start;
  if (took >= options_.slow_callback_duration) {
    internal::proactor_logger().warn("executing callback scheduled at {} took {:.3f} seconds",
                                     where_of(ready, task.get()).to_string(),
                                     std::chrono::duration<double>(took).count());
  }
}

CallSite EventLoop::where_of(const ReadyCallback& ready, const FutureBase* task) noexcept {
  if (!ready.task_step) return ready.where;
  return task == nullptr ? CallSite{}
                         : internal::TaskAccess::started_at(static_cast<const TaskBase&>(*task));
}

void EventLoop::release_resources() noexcept {
  closed_ = true;
  // Rule 9 order: no more posts through the wake-up channel (and none still inside the
  // backend's wake()), then the backend (which cancels and drains every operation, rules
  // 10 and 13), then the queues.
  {
    std::lock_guard lock(threadsafe_mutex_);
    threadsafe_closed_ = true;
  }
  while (wakers_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  try {
    backend_->close();
  } catch (const std::exception& error) {
    internal::proactor_logger().error("closing the {} backend failed: {}", backend_->name(),
                                      error.what());
  }
  // Moved out first: dropping a callback can destroy a task, whose destructor may look at
  // the loop.
  std::vector<ReadyCallback> ready = std::move(ready_);
  ready_.clear();
  std::vector<std::shared_ptr<ScheduledCallback>> timers = std::move(timers_);
  timers_.clear();
  std::vector<std::shared_ptr<TaskBase>> kept = std::move(kept_running_);
  kept_running_.clear();
  std::vector<ReadyCallback> posted;
  {
    std::lock_guard lock(threadsafe_mutex_);
    posted.swap(threadsafe_);
  }
}

namespace internal {

OperationKey LoopAccess::submit(EventLoop& loop, std::unique_ptr<Operation> operation) {
  if (loop.closed_) throw LoopClosedError("event loop is closed");
  Submission submission = loop.backend_->submit(std::move(operation));
  if (submission.failed != nullptr) {
    // Rule 3: a failure known at once is still delivered on a later iteration.
    auto failed = std::make_shared<std::unique_ptr<Operation>>(std::move(submission.failed));
    loop.schedule(
        [failed] {
          Operation& failed_operation = **failed;
          failed_operation.complete(std::move(*failed));
        },
        CallSite{});
  }
  return submission.key;
}

void LoopAccess::cancel(EventLoop& loop, OperationKey key) {
  if (!loop.closed_) loop.backend_->cancel(key);
}

void LoopAccess::keep_running(EventLoop& loop, std::shared_ptr<TaskBase> task) {
  TaskBase* const kept = task.get();
  loop.kept_running_.push_back(std::move(task));
  kept->add_done_callback([&loop, kept] {
    static_cast<void>(kept->exception());  // asyncio's gather retrieves it too
    std::erase_if(loop.kept_running_,
                  [kept](const std::shared_ptr<TaskBase>& held) { return held.get() == kept; });
  });
}

}  // namespace internal
RESTRACK_NAMESPACE_END
