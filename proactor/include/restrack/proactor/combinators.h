// restrack/proactor/combinators.h — timeouts and gathering for tasks.
//
// Both return tasks that run on the loop of the task that awaits them; start them by
// awaiting them from a task, or with EventLoop::create_task()/run_until_complete().
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

// Awaits `task` for at most `timeout`. If the deadline passes first, `task` is cancelled
// and wait_for throws TimeoutError once the cancellation has finished it; if `task`
// completed meanwhile, its result wins. Cancelling wait_for cancels `task`.
template <class T>
Task<T> wait_for(Task<T> task, EventLoop::Clock::duration timeout) {
  EventLoop& loop = EventLoop::running_loop();
  if (!task.state()->started()) loop.create_task(task);
  auto timed_out = std::make_shared<bool>(false);
  TimerHandle timer = loop.call_later(timeout, [task, timed_out]() mutable {
    *timed_out = true;
    task.cancel();
  });
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      timer.cancel();
    } else {
      T value = co_await task;
      timer.cancel();
      co_return value;
    }
  } catch (const CancelledError&) {
    timer.cancel();
    if (*timed_out) throw TimeoutError();
    throw;
  }
}

namespace internal {
// When the gathering task itself is cancelled, its children are cancelled with it.
template <class T>
void cancel_children_if_cancelled(std::vector<Task<T>>& tasks) {
  TaskBase* gathering = TaskBase::running();
  if (gathering != nullptr && gathering->cancel_requested()) {
    for (Task<T>& task : tasks) task.cancel();
  }
}
}  // namespace internal

// Runs all `tasks` concurrently and returns their results in order. The first failure in
// list order is rethrown once reached; the other tasks keep running. Cancelling the
// gathering task cancels every task.
template <class T>
Task<std::vector<T>> gather(std::vector<Task<T>> tasks) {
  EventLoop& loop = EventLoop::running_loop();
  for (Task<T>& task : tasks) {
    if (!task.state()->started()) loop.create_task(task);
  }
  std::vector<T> results;
  results.reserve(tasks.size());
  try {
    for (Task<T>& task : tasks) results.push_back(co_await task);
  } catch (const CancelledError&) {
    internal::cancel_children_if_cancelled(tasks);
    throw;
  }
  co_return results;
}

inline Task<void> gather(std::vector<Task<void>> tasks) {
  EventLoop& loop = EventLoop::running_loop();
  for (Task<void>& task : tasks) {
    if (!task.state()->started()) loop.create_task(task);
  }
  try {
    for (Task<void>& task : tasks) co_await task;
  } catch (const CancelledError&) {
    internal::cancel_children_if_cancelled(tasks);
    throw;
  }
}

RESTRACK_NAMESPACE_END
