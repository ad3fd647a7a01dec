// Internal: what the layers on top of the loop (futures, tasks, sockets, transports) use
// of it beyond the public API — submitting operations, scheduling without a handle, the
// weak link futures hold. Calls go one way: these layers call the loop, the loop calls the
// backend, and the backend calls back only through the hooks an Operation carries.
#pragma once

#include <functional>
#include <memory>

#include "operation.h"
#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Shared by a loop and every future bound to it; the loop clears `loop` when destroyed.
struct LoopAnchor {
  EventLoop* loop = nullptr;
};

struct LoopAccess {
  // Hands `operation` to the backend and returns its key; kNoOperation if it failed at
  // once, in which case it is completed from the ready queue (rule 3). Throws
  // LoopClosedError on a closed loop.
  static OperationKey submit(EventLoop& loop, std::unique_ptr<Operation> operation);

  // Asks the backend to cancel an operation (rule 4). A no-op on a closed loop.
  static void cancel(EventLoop& loop, OperationKey key);

  // call_soon() without a Handle: what futures and tasks use for their own steps.
  static void schedule(EventLoop& loop, std::function<void()> callback, CallSite where) {
    loop.schedule(std::move(callback), where);
  }

  // Schedules the next step of `task` (a TaskBase), which is held weakly until it runs,
  // on an open loop (the caller checked).
  static void schedule_step(EventLoop& loop, std::weak_ptr<FutureBase> task) {
    loop.ready_.emplace_back(std::move(task));
  }

  static const std::shared_ptr<LoopAnchor>& anchor(EventLoop& loop) noexcept {
    return loop.anchor_;
  }

  // Keeps `task` alive until it is done or the loop closes (see TaskAccess::keep_running).
  static void keep_running(EventLoop& loop, std::shared_ptr<TaskBase> task);
};

}  // namespace internal
RESTRACK_NAMESPACE_END
