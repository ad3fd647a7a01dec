#include "restrack/proactor/event_loop.h"

#include <algorithm>
#include <string>
#include <utility>

#include <spdlog/logger.h>

#include "restrack/kind.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/log.h"

RESTRACK_NAMESPACE_BEGIN

namespace internal {
struct TimerEntry {
  EventLoop::Clock::time_point when;
  std::uint64_t sequence = 0;
  EventLoop::Callback callback;
  CallSite where;
  bool cancelled = false;
};
}  // namespace internal

namespace {

thread_local EventLoop* running_event_loop = nullptr;

// std::push_heap builds a max-heap; this order puts the earliest timer (first scheduled
// among equals) on top.
bool fires_later(const std::shared_ptr<internal::TimerEntry>& a,
                 const std::shared_ptr<internal::TimerEntry>& b) {
  if (a->when != b->when) return a->when > b->when;
  return a->sequence > b->sequence;
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

void TimerHandle::cancel() noexcept {
  if (entry_ == nullptr) return;
  entry_->cancelled = true;
  // Releases what the callback holds (often a task) now, not when the timer would fire.
  entry_->callback = nullptr;
}

bool TimerHandle::cancelled() const noexcept { return entry_ != nullptr && entry_->cancelled; }

EventLoop::EventLoop(EventLoopOptions options)
    : EventLoop(make_uring_backend(options.uring), options) {}

EventLoop::EventLoop(std::unique_ptr<Backend> backend, EventLoopOptions options)
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

void EventLoop::call_soon(Callback callback, CallSite where) {
  if (closed_) throw LoopClosedError("event loop is closed");
  ready_.push_back(ReadyCallback{std::move(callback), where});
}

void EventLoop::call_soon_threadsafe(Callback callback, CallSite where) {
  {
    std::lock_guard lock(threadsafe_mutex_);
    if (threadsafe_closed_) throw LoopClosedError("event loop is closed");
    threadsafe_.push_back(ReadyCallback{std::move(callback), where});
    threadsafe_pending_.store(true, std::memory_order_release);
  }
  backend_->wake();
}

TimerHandle EventLoop::call_later(Clock::duration delay, Callback callback, CallSite where) {
  return call_at(Clock::now() + delay, std::move(callback), where);
}

TimerHandle EventLoop::call_at(Clock::time_point when, Callback callback, CallSite where) {
  if (closed_) throw LoopClosedError("event loop is closed");
  auto entry = std::make_shared<internal::TimerEntry>(
      internal::TimerEntry{when, timer_sequence_++, std::move(callback), where, false});
  timers_.push_back(entry);
  std::push_heap(timers_.begin(), timers_.end(), fires_later);
  return TimerHandle(std::move(entry));
}

void EventLoop::run_forever() {
  if (closed_) throw LoopClosedError("event loop is closed");
  if (running_) throw std::logic_error("event loop is already running");
  if (running_event_loop != nullptr) {
    throw std::logic_error("another event loop is running on this thread");
  }
  running_ = true;
  running_event_loop = this;
  struct ResetOnExit {
    EventLoop& loop;
    ~ResetOnExit() {
      loop.running_ = false;
      loop.stopping_ = false;
      running_event_loop = nullptr;
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

Future<void> EventLoop::sleep(Clock::duration delay) {
  auto state = std::make_shared<SleepState>(*this);
  state->timer = call_later(delay, [weak = std::weak_ptr<SleepState>(state)] {
    if (std::shared_ptr<SleepState> sleeping = weak.lock(); sleeping && !sleeping->done()) {
      sleeping->set_result();
    }
  });
  return Future<void>(std::move(state));
}

OperationKey EventLoop::submit(std::unique_ptr<Operation> operation) {
  if (closed_) throw LoopClosedError("event loop is closed");
  Submission submission = backend_->submit(std::move(operation));
  if (submission.failed != nullptr) {
    // Rule 3: a failure known at once is still delivered on a later iteration.
    auto failed = std::make_shared<std::unique_ptr<Operation>>(std::move(submission.failed));
    call_soon([this, failed] {
      std::unique_ptr<Operation> failed_operation = std::move(*failed);
      const Operation::CompleteFn complete = failed_operation->complete;
      complete(std::move(failed_operation), *this);
    });
  }
  return submission.key;
}

void EventLoop::cancel_operation(OperationKey key) {
  if (!closed_) backend_->cancel(key);
}

EventLoop* EventLoop::running() noexcept { return running_event_loop; }

EventLoop& EventLoop::running_loop() {
  if (running_event_loop == nullptr) throw std::logic_error("no event loop runs on this thread");
  return *running_event_loop;
}

std::chrono::nanoseconds EventLoop::poll_timeout() {
  if (!ready_.empty() || stopping_ || threadsafe_pending_.load(std::memory_order_acquire)) {
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
  for (std::unique_ptr<Operation>& operation : completed_) {
    const Operation::CompleteFn complete = operation->complete;
    try {
      complete(std::move(operation), *this);
    } catch (const std::exception& error) {
      proactor_logger().error("exception while delivering a completion: {}", error.what());
    }
  }
  completed_.clear();

  if (threadsafe_pending_.exchange(false, std::memory_order_acquire)) {
    std::vector<ReadyCallback> posted;
    {
      std::lock_guard lock(threadsafe_mutex_);
      posted.swap(threadsafe_);
    }
    for (ReadyCallback& callback : posted) ready_.push_back(std::move(callback));
  }

  const Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.front()->when <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), fires_later);
    std::shared_ptr<internal::TimerEntry> timer = std::move(timers_.back());
    timers_.pop_back();
    if (!timer->cancelled) {
      const CallSite where = timer->where;
      // Checked again when it runs: cancel() still works while the timer waits its turn.
      ready_.push_back(ReadyCallback{[due = std::move(timer)] {
                                       if (!due->cancelled) due->callback();
                                     },
                                     where});
    }
  }

  // Only what is ready now: callbacks scheduled by these run on the next iteration.
  for (std::size_t count = ready_.size(); count > 0; --count) {
    ReadyCallback ready = std::move(ready_.front());
    ready_.pop_front();
    run_ready(ready);
  }
}

void EventLoop::run_ready(ReadyCallback& ready) {
  const Clock::time_point start = options_.debug ? Clock::now() : Clock::time_point();
  try {
    ready.callback();
  } catch (const std::exception& error) {
    proactor_logger().error("exception in callback scheduled at {}:{}: {}", ready.where.file,
                            ready.where.line, error.what());
  }
  if (!options_.debug) return;
  const auto took = Clock::now() - start;
  if (took >= options_.slow_callback_duration) {
    proactor_logger().warn("executing callback scheduled at {}:{} took {:.3f} seconds",
                           ready.where.file, ready.where.line,
                           std::chrono::duration<double>(took).count());
  }
}

void EventLoop::release_resources() noexcept {
  closed_ = true;
  // Rule 9 order: no more posts through the wake-up channel, then the backend (which
  // cancels and drains every operation, rules 10 and 13), then the queues.
  {
    std::lock_guard lock(threadsafe_mutex_);
    threadsafe_closed_ = true;
  }
  try {
    backend_->close();
  } catch (const std::exception& error) {
    proactor_logger().error("closing the {} backend failed: {}", backend_->name(), error.what());
  }
  // Moved out first: dropping a callback can destroy a task, whose destructors may look
  // at the loop.
  std::deque<ReadyCallback> ready = std::move(ready_);
  ready_.clear();
  std::vector<std::shared_ptr<internal::TimerEntry>> timers = std::move(timers_);
  timers_.clear();
  std::vector<ReadyCallback> posted;
  {
    std::lock_guard lock(threadsafe_mutex_);
    posted.swap(threadsafe_);
  }
}

RESTRACK_NAMESPACE_END
