#include "fake_backend.h"

#include <cerrno>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "restrack/proactor/errors.h"
#include "test_platform.h"

namespace restrack_test {

void FakeBackend::script_next(Start start, int result) {
  scripts_.push_back(Script{start, result});
}

void FakeBackend::complete(OperationKey key, int result) {
  packets_.push_back(Packet{key, result});
}

restrack::internal::Submission FakeBackend::submit(std::unique_ptr<Operation> operation) {
  if (closed_) throw restrack::LoopClosedError("fake backend is closed");
  observations_.submitted_types.push_back(operation->type);
  observations_.submitted_nonblocking.push_back(is_nonblocking(operation->handle));
  Script script{Start::pending, 0};
  if (!scripts_.empty()) {
    script = scripts_.front();
    scripts_.pop_front();
  }
  if (script.start == Start::failed_at_once) {
    operation->result = script.result;
    return restrack::internal::Submission{restrack::internal::kNoOperation, std::move(operation)};
  }
  const OperationKey key = table_.insert(std::move(operation));
  observations_.submitted.push_back(key);
  if (script.start == Start::done_at_once) complete(key, script.result);
  return restrack::internal::Submission{key, nullptr};
}

void FakeBackend::cancel(OperationKey key) {
  observations_.cancel_requests.push_back(key);
  Operation* operation = table_.find(key);
  if (operation == nullptr || operation->cancel_requested) return;
  operation->cancel_requested = true;
  if (on_cancel_ == OnCancel::complete_cancelled) complete(key, -ECANCELED);
}

void FakeBackend::deliver_packets(std::vector<std::unique_ptr<Operation>>& completed) {
  while (!packets_.empty()) {
    const Packet packet = packets_.front();
    packets_.pop_front();
    if (std::unique_ptr<Operation> operation = table_.reap(packet.key, packet.result)) {
      completed.push_back(std::move(operation));
    }
  }
}

void FakeBackend::poll(std::chrono::nanoseconds timeout,
                       std::vector<std::unique_ptr<Operation>>& completed) {
  ++observations_.polls;
  if (packets_.empty() && timeout.count() != 0) {
    // Nothing scripted: wait for a wake-up (or the timer) like a real port would. A test
    // that waits without limit for nothing is a bug in the test; fail it instead of hanging.
    std::unique_lock lock(wake_mutex_);
    const auto limit =
        timeout.count() < 0 ? std::chrono::nanoseconds(std::chrono::seconds(5)) : timeout;
    if (!woken_.wait_for(lock, limit, [&] { return wake_pending_; }) && timeout.count() < 0) {
      ADD_FAILURE() << "the loop waited without limit on the fake backend with nothing scripted";
    }
    wake_pending_ = false;
  }
  deliver_packets(completed);
}

void FakeBackend::wake() noexcept {
  {
    std::unique_lock lock(wake_mutex_);
    ++wakes_;
    events_.emplace_back("wake entered");
    woken_.notify_all();
    woken_.wait(lock, [&] { return !hold_wakes_; });
    events_.emplace_back("wake left");
    wake_pending_ = true;
  }
  woken_.notify_all();
}

std::vector<std::string> FakeBackend::events() {
  std::lock_guard lock(wake_mutex_);
  return events_;
}

void FakeBackend::hold_wakes(bool hold) {
  {
    std::lock_guard lock(wake_mutex_);
    hold_wakes_ = hold;
  }
  woken_.notify_all();
}

std::size_t FakeBackend::wakes() {
  std::lock_guard lock(wake_mutex_);
  return wakes_;
}

void FakeBackend::close() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(wake_mutex_);
    events_.emplace_back("close");
  }
  restrack::internal::DrainHooks hooks;
  hooks.cancel = [this](OperationKey key) { cancel(key); };
  hooks.reap_and_abandon = [this](std::chrono::nanoseconds timeout) {
    // Like a kernel that has nothing to report: the wait takes its whole timeout.
    if (packets_.empty()) std::this_thread::sleep_for(timeout);
    std::vector<std::unique_ptr<Operation>> reaped;
    deliver_packets(reaped);
    for (std::unique_ptr<Operation>& operation : reaped) operation->abandon();
  };
  hooks.internal_pending = [] { return false; };
  restrack::internal::cancel_and_drain(table_, close_deadline_, hooks);
}

}  // namespace restrack_test
