// restrack/proactor/combinators.h — timeouts and gathering for tasks.
//
// Both return tasks that run on the loop of the task that awaits them; start them by
// awaiting them from a task, or with EventLoop::create_task()/run_until_complete(). The
// tasks they are given are started (if not yet) at the caller's line, which names them in
// slow-callback logs.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

namespace internal {
template <class T>
void start_all(EventLoop& loop, std::vector<Task<T>>& tasks, CallSite where) {
  for (Task<T>& task : tasks) {
    TaskBase& state = *TaskAccess::state(task);
    if (!TaskAccess::started(state)) TaskAccess::start(state, loop, where);
  }
}

// When the gathering task itself is cancelled, its children are cancelled with it.
template <class T>
void cancel_children_if_cancelled(std::vector<Task<T>>& tasks) {
  TaskBase* gathering = TaskAccess::running();
  if (gathering != nullptr && TaskAccess::cancel_requested(*gathering)) {
    for (Task<T>& task : tasks) task.cancel();
  }
}

// After gather's first failure: the tasks still running go on under the loop's care, and
// the exceptions of the others count as retrieved, as in asyncio.
template <class T>
void keep_the_rest_running(std::vector<Task<T>>& tasks) {
  for (Task<T>& task : tasks) {
    if (task.done()) {
      static_cast<void>(task.exception());
    } else {
      TaskAccess::keep_running(*TaskAccess::state(task));
    }
  }
}
}  // namespace internal

// Awaits `task` for at most `timeout` (durations too long to represent are saturated).
// If the deadline passes first, `task` is cancelled and wait_for throws TimeoutError once
// the cancellation has finished it; if `task` completed meanwhile, its result wins.
// Cancelling wait_for cancels `task`.
template <class T>
Task<T> wait_for(Task<T> task, EventLoop::Clock::duration timeout,
                 CallSite where = CallSite::current()) {
  EventLoop& loop = EventLoop::running_loop();
  std::vector<Task<T>> started{task};
  internal::start_all(loop, started, where);
  auto timed_out = std::make_shared<bool>(false);
  TimerHandle timer = loop.call_later(
      timeout,
      [task, timed_out]() mutable {
        *timed_out = true;
        task.cancel();
      },
      where);
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

// Runs all `tasks` concurrently and returns their results in order, like asyncio.gather.
// The first failure in list order is rethrown once gather reaches it; the other tasks
// keep running to their end under the loop's care (their exceptions are then considered
// retrieved), and are cancelled if the loop closes first. Cancelling the gathering task
// cancels every task.
template <class T>
Task<std::vector<T>> gather(std::vector<Task<T>> tasks, CallSite where = CallSite::current()) {
  internal::start_all(EventLoop::running_loop(), tasks, where);
  std::vector<T> results;
  results.reserve(tasks.size());
  try {
    for (Task<T>& task : tasks) results.push_back(co_await task);
  } catch (const CancelledError&) {
    internal::cancel_children_if_cancelled(tasks);
    internal::keep_the_rest_running(tasks);
    throw;
  } catch (...) {
    internal::keep_the_rest_running(tasks);
    throw;
  }
  co_return results;
}

inline Task<void> gather(std::vector<Task<void>> tasks, CallSite where = CallSite::current()) {
  internal::start_all(EventLoop::running_loop(), tasks, where);
  try {
    for (Task<void>& task : tasks) co_await task;
  } catch (const CancelledError&) {
    internal::cancel_children_if_cancelled(tasks);
    internal::keep_the_rest_running(tasks);
    throw;
  } catch (...) {
    internal::keep_the_rest_running(tasks);
    throw;
  }
}

RESTRACK_NAMESPACE_END
