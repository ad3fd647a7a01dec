// Futures and coroutine tasks on the scripted backend: results, errors, ordering of done
// callbacks (rule 3), cancellation (rule 4), sleep, wait_for, gather, and tasks destroyed
// while pending.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/combinators.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/task.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::CancelledError;
using restrack::EventLoop;
using restrack::Future;
using restrack::Task;
using restrack_test::RecordedDiagnostic;

class FutureTaskTest : public FakeLoopTest {
 protected:
  // Runs exactly one loop iteration.
  void run_one_iteration() {
    loop.stop();
    loop.run_forever();
  }
};

Task<int> add_after_yield(EventLoop& loop, int a, int b) {
  co_await loop.sleep(0ms);
  co_return a + b;
}

Task<int> fail_with(std::string message) {
  throw std::runtime_error(message);
  co_return 0;
}

Task<int> await_future(Future<int> future, std::vector<std::string>& steps) {
  steps.push_back("started");
  try {
    const int value = co_await future;
    steps.push_back("got " + std::to_string(value));
    co_return value;
  } catch (const CancelledError&) {
    steps.push_back("cancelled at co_await");
    throw;
  }
}

Task<int> await_task(Task<int> inner) { co_return co_await inner * 10; }

Task<std::string> receive(EventLoop& loop, const restrack::Socket& socket) {
  co_return co_await restrack::sock_recv(loop, socket, 64);
}

Task<int> sleep_then_return(EventLoop& loop, EventLoop::Clock::duration delay, int value) {
  co_await loop.sleep(delay);
  co_return value;
}

TEST_F(FutureTaskTest, RunUntilCompleteReturnsTheTaskResult) {
  EXPECT_EQ(loop.run_until_complete(add_after_yield(loop, 2, 3)), 5);
}

TEST_F(FutureTaskTest, ExceptionEscapingATaskIsRethrownToWhoeverAwaitsIt) {
  Task<int> task = fail_with("no luck");
  try {
    loop.run_until_complete(task);
    FAIL() << "expected the task's exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "no luck");
  }
  EXPECT_TRUE(task.done());
  EXPECT_FALSE(task.cancelled());
}

TEST_F(FutureTaskTest, AwaitingAnUnstartedTaskStartsItOnTheAwaitingTasksLoop) {
  EXPECT_EQ(loop.run_until_complete(await_task(add_after_yield(loop, 1, 1))), 20);
}

TEST_F(FutureTaskTest, Rule3DoneCallbacksNeverRunInsideSetResult) {
  Future<int> future = Future<int>::create(loop);
  std::vector<std::string> ran;
  future.add_done_callback([&] { ran.push_back("callback"); });
  future.set_result(7);
  ran.push_back("after set_result");
  run_one_iteration();
  EXPECT_EQ(ran, (std::vector<std::string>{"after set_result", "callback"}));
}

TEST_F(FutureTaskTest, DoneCallbacksRunInTheOrderTheyWereAdded) {
  Future<int> future = Future<int>::create(loop);
  std::vector<int> ran;
  future.add_done_callback([&] { ran.push_back(1); });
  future.add_done_callback([&] { ran.push_back(2); });
  future.set_result(0);
  future.add_done_callback([&] { ran.push_back(3); });  // already done: scheduled at once
  run_one_iteration();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

// A task's wake-up is one of the future's done callbacks, in the order it was added.
TEST_F(FutureTaskTest, AwaitingTaskWakesInOrderWithTheFuturesOtherCallbacks) {
  Future<int> future = Future<int>::create(loop);
  std::vector<std::string> steps;
  future.add_done_callback([&] { steps.push_back("callback added before the await"); });
  Task<int> task = loop.create_task(await_future(future, steps));
  run_one_iteration();  // the task starts and awaits
  future.add_done_callback([&] { steps.push_back("callback added after the await"); });
  future.set_result(5);
  run_one_iteration();
  EXPECT_EQ(steps, (std::vector<std::string>{"started", "callback added before the await", "got 5",
                                             "callback added after the await"}));
  EXPECT_TRUE(task.done());
}

Task<void> await_labelled(Future<int> future, std::string label, std::vector<std::string>& steps) {
  const int value = co_await future;
  steps.push_back(label + " got " + std::to_string(value));
}

// The first task to await a future is kept apart from its callbacks (future.h); the order
// is still the order of the awaits and adds: a task that comes to wait after a callback
// wakes after it.
TEST_F(FutureTaskTest, TasksAwaitingOneFutureWakeInTheOrderTheyAwaitedAmongItsCallbacks) {
  Future<int> future = Future<int>::create(loop);
  std::vector<std::string> steps;
  Task<void> first = loop.create_task(await_labelled(future, "first", steps));
  Task<void> second = loop.create_task(await_labelled(future, "second", steps));
  run_one_iteration();  // both await, in that order
  future.add_done_callback([&] { steps.push_back("callback"); });
  Task<void> third = loop.create_task(await_labelled(future, "third", steps));
  run_one_iteration();  // "third" awaits, after the callback was added
  future.set_result(4);
  run_one_iteration();
  EXPECT_EQ(steps,
            (std::vector<std::string>{"first got 4", "second got 4", "callback", "third got 4"}));
}

TEST_F(FutureTaskTest, EmptyDoneCallbackIsRefusedWhenAdded) {
  Future<int> future = Future<int>::create(loop);
  try {
    future.add_done_callback(std::function<void()>());
    FAIL() << "an empty callback was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "add_done_callback with an empty callback");
  }
  future.set_result(1);
  EXPECT_THROW(future.add_done_callback(nullptr), std::invalid_argument);
}

TEST_F(FutureTaskTest, FutureResultCanBeSetOnlyOnce) {
  Future<int> future = Future<int>::create(loop);
  future.set_result(1);
  EXPECT_THROW(future.set_result(2), std::logic_error);
  EXPECT_FALSE(future.cancel());
  EXPECT_EQ(future.take_result(), 1);
}

TEST_F(FutureTaskTest, TaskCancelledBeforeItsFirstStepNeverRuns) {
  std::vector<std::string> steps;
  Task<int> task = loop.create_task(await_future(Future<int>::create(loop), steps));
  EXPECT_TRUE(task.cancel());
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_TRUE(task.cancelled());
  EXPECT_TRUE(steps.empty());
}

TEST_F(FutureTaskTest, Rule4CancellingATaskCancelsTheFutureItAwaitsAndThrowsAtThatCoAwait) {
  std::vector<std::string> steps;
  Future<int> future = Future<int>::create(loop);
  Task<int> task = loop.create_task(await_future(future, steps));
  run_one_iteration();
  EXPECT_TRUE(task.cancel());
  EXPECT_TRUE(future.cancelled());  // at once, not on a later iteration
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(steps, (std::vector<std::string>{"started", "cancelled at co_await"}));
  EXPECT_FALSE(task.cancel());  // done: a second cancel is harmless
}

TEST_F(FutureTaskTest, CancelArrivingAfterTheAwaitedFutureFinishedThrowsAtTheResume) {
  std::vector<std::string> steps;
  Future<int> future = Future<int>::create(loop);
  Task<int> task = loop.create_task(await_future(future, steps));
  run_one_iteration();
  future.set_result(5);        // the task's wake-up is queued...
  EXPECT_TRUE(task.cancel());  // ...and the cancel comes before it runs
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(steps, (std::vector<std::string>{"started", "cancelled at co_await"}));
}

TEST_F(FutureTaskTest, Rule4CancellingATaskCancelsTheOperationItAwaits) {
  SocketPair sockets;
  Task<std::string> task = loop.create_task(receive(loop, sockets.first));
  run_one_iteration();
  ASSERT_EQ(fake.observations().submitted.size(), 1u);
  const restrack::internal::OperationKey key = fake.observations().submitted[0];
  task.cancel();
  EXPECT_EQ(fake.observations().cancel_requests,
            (std::vector<restrack::internal::OperationKey>{key}));
  EXPECT_EQ(loop.operations_in_flight(), 1u);  // rule 1: still the backend's until reaped
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
}

TEST_F(FutureTaskTest, SleepFinishesNoEarlierThanItsDelay) {
  const EventLoop::Clock::time_point start = loop.time();
  EXPECT_EQ(loop.run_until_complete(sleep_then_return(loop, 5ms, 1)), 1);
  EXPECT_GE(loop.time() - start, 5ms);
}

TEST_F(FutureTaskTest, WaitForReturnsTheResultOfATaskThatFinishesInTime) {
  EXPECT_EQ(loop.run_until_complete(restrack::wait_for(sleep_then_return(loop, 0ms, 9), 1h)), 9);
}

TEST_F(FutureTaskTest, WaitForCancelsALateTaskAndThrowsTimeoutError) {
  Task<int> slow = sleep_then_return(loop, 1h, 9);
  EXPECT_THROW(loop.run_until_complete(restrack::wait_for(slow, 1ms)), restrack::TimeoutError);
  EXPECT_TRUE(slow.cancelled());
}

Task<std::vector<int>> gather_three(EventLoop& loop) {
  std::vector<Task<int>> tasks;
  tasks.push_back(sleep_then_return(loop, 3ms, 1));
  tasks.push_back(sleep_then_return(loop, 2ms, 2));
  tasks.push_back(sleep_then_return(loop, 1ms, 3));
  co_return co_await restrack::gather(std::move(tasks));
}

TEST_F(FutureTaskTest, GatherReturnsResultsInListOrderWhateverOrderTheyFinishIn) {
  EXPECT_EQ(loop.run_until_complete(gather_three(loop)), (std::vector<int>{1, 2, 3}));
}

TEST_F(FutureTaskTest, GatherRethrowsTheFirstFailureInListOrder) {
  std::vector<Task<int>> tasks;
  tasks.push_back(sleep_then_return(loop, 0ms, 1));
  tasks.push_back(fail_with("second"));
  tasks.push_back(fail_with("third"));
  try {
    loop.run_until_complete(restrack::gather(std::move(tasks)));
    FAIL() << "expected the second task's exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "second");
  }
}

TEST_F(FutureTaskTest, CancellingGatherCancelsEveryTask) {
  std::vector<Task<int>> tasks{sleep_then_return(loop, 1h, 1), sleep_then_return(loop, 1h, 2)};
  Task<std::vector<int>> gathering = loop.create_task(restrack::gather(tasks));
  run_one_iteration();
  run_one_iteration();
  gathering.cancel();
  EXPECT_THROW(loop.run_until_complete(gathering), CancelledError);
  EXPECT_TRUE(tasks[0].cancelled());
  EXPECT_TRUE(tasks[1].cancelled());
}

TEST_F(FutureTaskTest, TaskDestroyedWhilePendingIsReportedUnderItsName) {
  DiagnosticRecorder diagnostics;
  std::vector<std::string> steps;
  Future<int> never = Future<int>::create(loop);
  std::string name;
  {
    Task<int> task = loop.create_task(await_future(never, steps));
    name = task.name();
    run_one_iteration();
  }
  const std::vector<RecordedDiagnostic> recorded = diagnostics.recorded();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].type, restrack::DiagnosticType::destroyed_pending);
  const std::string first_line = recorded[0].text.substr(0, recorded[0].text.find('\n'));
  EXPECT_TRUE(first_line.ends_with(": ResourceWarning: task was destroyed but it is pending <" +
                                   name + ">"))
      << first_line;
  // Destroying the frame cancelled what it awaited.
  EXPECT_TRUE(never.cancelled());
}

TEST_F(FutureTaskTest, TaskThatNeverStartedIsDestroyedQuietly) {
  DiagnosticRecorder diagnostics;
  std::vector<std::string> steps;
  { Task<int> task = await_future(Future<int>::create(loop), steps); }
  EXPECT_TRUE(diagnostics.recorded().empty());
  EXPECT_TRUE(steps.empty());
}

TEST_F(FutureTaskTest, Rule1TaskDestroyedWhileAwaitingAnOperationLeavesItToTheBackend) {
  DiagnosticRecorder diagnostics;
  SocketPair sockets;
  {
    Task<std::string> task = loop.create_task(receive(loop, sockets.first));
    run_one_iteration();
  }
  ASSERT_EQ(fake.observations().submitted.size(), 1u);
  EXPECT_EQ(fake.observations().cancel_requests, fake.observations().submitted);
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  run_one_iteration();  // reaps the -ECANCELED completion
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  ASSERT_EQ(diagnostics.recorded().size(), 1u);  // the task, not the operation
  EXPECT_EQ(diagnostics.recorded()[0].type, restrack::DiagnosticType::destroyed_pending);
}

TEST_F(FutureTaskTest, TaskStartedOnAClosedLoopCountsAsNeverStarted) {
  DiagnosticRecorder diagnostics;
  std::vector<std::string> steps;
  Future<int> never = Future<int>::create(loop);
  loop.close();
  {
    Task<int> task = await_future(never, steps);
    EXPECT_THROW(loop.create_task(task), restrack::LoopClosedError);
  }
  EXPECT_TRUE(diagnostics.recorded().empty());
  EXPECT_TRUE(steps.empty());
}

unsigned co_await_line = 0;

Task<int> await_unstarted(Task<int> inner) {
  co_await_line = __LINE__ + 1;
  const int value = co_await inner;
  co_return value;
}

// The "scheduled at" locations of a slow-callback log.
std::vector<std::string> scheduled_at(const std::vector<std::string>& lines) {
  std::vector<std::string> sites;
  for (const std::string& line : lines) {
    const std::string marker = "scheduled at ";
    const auto start = line.find(marker);
    if (start == std::string::npos) continue;
    const auto end = line.find(" took ", start);
    sites.push_back(line.substr(start + marker.size(), end - start - marker.size()));
  }
  return sites;
}

TEST_F(FutureTaskTest, TaskStartedByCoAwaitIsNamedByTheLineOfTheCoAwait) {
  LogRecorder log;
  loop.set_debug(true);
  loop.set_slow_callback_duration(0ns);
  const restrack::CallSite where = restrack::CallSite::current();
  EXPECT_EQ(loop.run_until_complete(await_unstarted(add_after_yield(loop, 1, 2)), where), 3);
  // Every callback is named by a line of this file — the inner task's steps by the line of
  // the co_await that started it — never by a line of restrack's headers.
  const std::vector<std::string> sites = scheduled_at(log.lines());
  const std::string file = std::string(where.file) + ":";
  for (const std::string& site : sites) EXPECT_TRUE(site.starts_with(file)) << site;
  EXPECT_NE(std::find(sites.begin(), sites.end(), file + std::to_string(co_await_line)),
            sites.end())
      << testing::PrintToString(sites);
}

unsigned gather_line = 0;

Task<std::vector<int>> gather_two(EventLoop& loop) {
  std::vector<Task<int>> tasks{add_after_yield(loop, 1, 1), add_after_yield(loop, 2, 2)};
  gather_line = __LINE__ + 1;
  co_return co_await restrack::gather(std::move(tasks));
}

TEST_F(FutureTaskTest, TasksStartedByGatherAreNamedByTheLineThatCalledGather) {
  LogRecorder log;
  loop.set_debug(true);
  loop.set_slow_callback_duration(0ns);
  const restrack::CallSite where = restrack::CallSite::current();
  EXPECT_EQ(loop.run_until_complete(gather_two(loop), where), (std::vector<int>{2, 4}));
  const std::vector<std::string> sites = scheduled_at(log.lines());
  const std::string file = std::string(where.file) + ":";
  for (const std::string& site : sites) EXPECT_TRUE(site.starts_with(file)) << site;
  EXPECT_NE(std::find(sites.begin(), sites.end(), file + std::to_string(gather_line)), sites.end());
}

Task<int> fail_after(EventLoop& loop, EventLoop::Clock::duration delay, std::string message) {
  co_await loop.sleep(delay);
  throw std::runtime_error(message);
}

Task<int> finish_when(Future<int> gate, bool* finished) {
  co_await gate;
  *finished = true;
  co_return 2;
}

TEST_F(FutureTaskTest, AfterGathersFirstFailureTheOtherTasksKeepRunning) {
  DiagnosticRecorder diagnostics;
  bool finished = false;
  Future<int> gate = Future<int>::create(loop);
  std::vector<Task<int>> tasks;
  tasks.push_back(fail_after(loop, 1ms, "first"));
  tasks.push_back(finish_when(gate, &finished));
  EXPECT_THROW(loop.run_until_complete(restrack::gather(std::move(tasks))), std::runtime_error);
  EXPECT_FALSE(finished);
  // Only the loop holds the second task now; it runs on when its gate opens.
  gate.set_result(0);
  run_one_iteration();
  run_one_iteration();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(FutureTaskTest, TaskGatherLeftRunningIsReportedPendingIfTheLoopClosesFirst) {
  DiagnosticRecorder diagnostics;
  bool finished = false;
  std::vector<Task<int>> tasks;
  tasks.push_back(fail_with("first"));
  tasks.push_back(finish_when(Future<int>::create(loop), &finished));
  EXPECT_THROW(loop.run_until_complete(restrack::gather(std::move(tasks))), std::runtime_error);
  loop.close();
  EXPECT_FALSE(finished);
  const std::vector<RecordedDiagnostic> recorded = diagnostics.recorded();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].type, restrack::DiagnosticType::destroyed_pending);
}

Task<int> swallow_std_exceptions(EventLoop& loop, bool* swallowed) {
  try {
    co_await loop.sleep(1h);
  } catch (const std::exception&) {
    *swallowed = true;
  }
  co_return 1;
}

TEST_F(FutureTaskTest, CancellationIsNotSwallowedByACatchOfStdException) {
  bool swallowed = false;
  Task<int> task = loop.create_task(swallow_std_exceptions(loop, &swallowed));
  run_one_iteration();
  task.cancel();
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_FALSE(swallowed);
  EXPECT_TRUE(task.cancelled());
}

TEST_F(FutureTaskTest, FailedTaskWhoseExceptionNobodyRetrievedIsReportedWithItsCreationTrace) {
  DiagnosticRecorder diagnostics;
  std::string name;
  const unsigned created_at = __LINE__ + 2;
  {
    Task<int> task = loop.create_task(fail_with("lost"));
    name = task.name();
    run_one_iteration();
    ASSERT_TRUE(task.done());
  }
  const std::vector<RecordedDiagnostic> recorded = diagnostics.recorded();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].type, restrack::DiagnosticType::exception_never_retrieved);
  const std::string& text = recorded[0].text;
  const std::string first_line = text.substr(0, text.find('\n'));
  EXPECT_TRUE(first_line.ends_with(": ResourceWarning: task exception was never retrieved <" +
                                   name + " std::runtime_error: lost>"))
      << first_line;
  EXPECT_NE(text.find("Object allocated at (most recent call first):\n"), std::string::npos);
  EXPECT_NE(text.find("tests/proactor/future_task_test.cc:" + std::to_string(created_at)),
            std::string::npos)
      << text;
}

TEST_F(FutureTaskTest, FailedTaskWhoseExceptionWasLookedAtIsDestroyedQuietly) {
  DiagnosticRecorder diagnostics;
  {
    Task<int> taken = loop.create_task(fail_with("taken"));
    Task<int> inspected = loop.create_task(fail_with("inspected"));
    run_one_iteration();
    EXPECT_THROW(taken.take_result(), std::runtime_error);
    EXPECT_NE(inspected.exception(), nullptr);
  }
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(FutureTaskTest, UnretrievedTaskExceptionGoesToACustomExceptionHandlerInstead) {
  DiagnosticRecorder diagnostics;
  std::vector<std::string> seen;
  loop.set_exception_handler([&](EventLoop&, const restrack::ExceptionContext& context) {
    seen.push_back(std::string(context.message) + " in " + context.task);
  });
  std::string name;
  {
    Task<int> task = loop.create_task(fail_with("lost"));
    name = task.name();
    run_one_iteration();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"task exception was never retrieved in " + name}));
  EXPECT_TRUE(diagnostics.recorded().empty());
}

Task<void> await_itself(Task<void>* self) { co_await *self; }

TEST_F(FutureTaskTest, TaskAwaitingItselfFailsWithAClearError) {
  Task<void> task;
  task = await_itself(&task);
  try {
    loop.run_until_complete(task);
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& error) {
    EXPECT_EQ(std::string(error.what()), task.name() + " awaits itself");
  }
}

Task<int> await_through_gate(Task<int>* other, Future<int> gate) {
  co_await gate;
  co_return co_await *other;
}

TEST_F(FutureTaskTest, TasksAwaitingEachOtherAreRefusedWhenTheCycleWouldClose) {
  Task<int> first;
  Task<int> second;
  Future<int> first_gate = Future<int>::create(loop);
  Future<int> second_gate = Future<int>::create(loop);
  first = loop.create_task(await_through_gate(&second, first_gate));
  second = loop.create_task(await_through_gate(&first, second_gate));
  run_one_iteration();
  first_gate.set_result(0);  // first now awaits second
  run_one_iteration();
  run_one_iteration();
  second_gate.set_result(0);  // second would await first: the await that closes the cycle
  const std::string cycle = second.name() + " awaits " + first.name() + ", which awaits " +
                            second.name() + ": a cycle of tasks awaiting each other never finishes";
  try {
    loop.run_until_complete(second);
    FAIL() << "expected the cycle to be refused";
  } catch (const std::logic_error& error) {
    EXPECT_EQ(std::string(error.what()), cycle);
  }
  // The task that was waiting gets the error too, and both are done: nothing leaks.
  EXPECT_THROW(loop.run_until_complete(first), std::logic_error);
}

TEST_F(FutureTaskTest, WaitForWithTheLongestTimeoutWaitsForTheTask) {
  EXPECT_EQ(loop.run_until_complete(restrack::wait_for(sleep_then_return(loop, 1ms, 7),
                                                       EventLoop::Clock::duration::max())),
            7);
}

Task<int> pending_forever(EventLoop& loop) {
  co_await loop.sleep(1h);
  co_return 0;
}

TEST_F(FutureTaskTest, PendingTasksClearedFromNestedContainersAreReportedAtTheUsersLine) {
  // The standard library's frames between the user's line and the task's destructor are
  // many in an unoptimized build; the report still reaches the user's line.
  DiagnosticRecorder diagnostics;
  std::map<int, std::vector<std::optional<Task<int>>>> tasks;
  tasks[1].emplace_back(loop.create_task(pending_forever(loop)));
  tasks[2].emplace_back(loop.create_task(pending_forever(loop)));
  run_one_iteration();
  tasks.clear();
  const int clear_line = __LINE__ - 1;
  const std::vector<RecordedDiagnostic> recorded = diagnostics.recorded();
  ASSERT_EQ(recorded.size(), 2u);
  for (const RecordedDiagnostic& diagnostic : recorded) {
    EXPECT_EQ(diagnostic.text.substr(0, diagnostic.text.find(": ")),
              "tests/proactor/future_task_test.cc:" + std::to_string(clear_line))
        << diagnostic.text;
  }
}

}  // namespace
}  // namespace restrack_test
