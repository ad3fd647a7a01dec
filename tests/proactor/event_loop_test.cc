// EventLoop core on the scripted backend: ready queue, timers, stop/run, thread-safe
// posting, debug mode, and the loop as a tracked resource. Loop close order: rule 9.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::CallSite;
using restrack::EventLoop;

class EventLoopTest : public FakeLoopTest {};

TEST_F(EventLoopTest, CallSoonRunsCallbacksInSchedulingOrder) {
  std::vector<std::string> ran;
  loop.call_soon([&] { ran.push_back("first"); });
  loop.call_soon([&] { ran.push_back("second"); });
  loop.call_soon([&] { ran.push_back("third"); });
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(EventLoopTest, CallbackScheduledByACallbackRunsOnTheNextIteration) {
  std::vector<std::string> ran;
  loop.call_soon([&] {
    ran.push_back("outer@" + std::to_string(fake.observations().polls));
    loop.call_soon([&] {
      ran.push_back("inner@" + std::to_string(fake.observations().polls));
      loop.stop();
    });
  });
  loop.call_soon([&] { ran.push_back("sibling@" + std::to_string(fake.observations().polls)); });
  loop.run_forever();
  EXPECT_EQ(ran, (std::vector<std::string>{"outer@1", "sibling@1", "inner@2"}));
}

TEST_F(EventLoopTest, TimersRunInDeadlineOrderThenInSchedulingOrder) {
  std::vector<std::string> ran;
  const EventLoop::Clock::time_point base = loop.time();
  loop.call_at(base + 3ms, [&] {
    ran.push_back("late");
    loop.stop();
  });
  loop.call_at(base + 1ms, [&] { ran.push_back("early-a"); });
  loop.call_at(base + 1ms, [&] { ran.push_back("early-b"); });
  loop.call_later(2ms, [&] { ran.push_back("middle"); });
  loop.run_forever();
  EXPECT_EQ(ran, (std::vector<std::string>{"early-a", "early-b", "middle", "late"}));
}

TEST_F(EventLoopTest, CancelledTimerNeverRuns) {
  std::vector<std::string> ran;
  restrack::TimerHandle cancelled = loop.call_later(1ms, [&] { ran.push_back("cancelled"); });
  loop.call_later(2ms, [&] {
    ran.push_back("kept");
    loop.stop();
  });
  cancelled.cancel();
  loop.run_forever();
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(ran, (std::vector<std::string>{"kept"}));
}

TEST_F(EventLoopTest, TimerCancelledAfterItFellDueButBeforeItRanNeverRuns) {
  std::vector<std::string> ran;
  restrack::TimerHandle later;
  // Both fall due in the same iteration; the first cancels the second before its turn.
  const EventLoop::Clock::time_point when = loop.time() + 1ms;
  loop.call_at(when, [&] {
    ran.push_back("first");
    later.cancel();
  });
  later = loop.call_at(when, [&] { ran.push_back("second"); });
  loop.call_at(when + 1ms, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(ran, (std::vector<std::string>{"first"}));
}

TEST_F(EventLoopTest, StopBeforeRunForeverRunsExactlyOneIteration) {
  int runs = 0;
  loop.call_soon([&] {
    ++runs;
    loop.call_soon([&] { ++runs; });
  });
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(fake.observations().polls, 1u);
}

TEST_F(EventLoopTest, RunForeverInsideTheRunningLoopThrows) {
  std::string error;
  loop.call_soon([&] {
    try {
      loop.run_forever();
    } catch (const std::logic_error& e) {
      error = e.what();
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "event loop is already running");
}

TEST_F(EventLoopTest, Rule9CloseOnARunningLoopThrows) {
  std::string error;
  loop.call_soon([&] {
    try {
      loop.close();
    } catch (const std::logic_error& e) {
      error = e.what();
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "cannot close a running event loop");
  EXPECT_FALSE(loop.is_closed());
}

TEST_F(EventLoopTest, Rule9CloseOnAClosedLoopIsANoOp) {
  loop.close();
  EXPECT_NO_THROW(loop.close());
  EXPECT_TRUE(loop.is_closed());
}

TEST_F(EventLoopTest, Rule9CloseDropsTheReadyQueueWithoutRunningIt) {
  int runs = 0;
  loop.call_soon([&] { ++runs; });
  loop.call_later(0ms, [&] { ++runs; });
  loop.close();
  EXPECT_EQ(runs, 0);
  EXPECT_THROW(loop.run_forever(), restrack::LoopClosedError);
}

TEST_F(EventLoopTest, SchedulingOnAClosedLoopThrowsLoopClosedError) {
  loop.close();
  EXPECT_THROW(loop.call_soon([] {}), restrack::LoopClosedError);
  EXPECT_THROW(loop.call_later(1ms, [] {}), restrack::LoopClosedError);
}

TEST_F(EventLoopTest, Rule9CallSoonThreadsafeAfterCloseThrows) {
  loop.close();
  EXPECT_THROW(loop.call_soon_threadsafe([] {}), restrack::LoopClosedError);
}

TEST_F(EventLoopTest, CallSoonThreadsafeFromAnotherThreadWakesTheWaitingLoop) {
  std::thread::id ran_on;
  std::thread poster([&] {
    loop.call_soon_threadsafe([&] {
      ran_on = std::this_thread::get_id();
      loop.stop();
    });
  });
  loop.run_forever();
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(EventLoopTest, CloseWaitsForAThreadsafePostStillWakingTheLoop) {
  // The waker is inside the backend's wake() when close() starts: the backend must not be
  // closed (or, in a destructor, freed) before the waker has left it.
  fake.hold_wakes(true);
  std::thread poster([&] { loop.call_soon_threadsafe([] {}); });
  while (fake.wakes() == 0) std::this_thread::yield();
  std::thread closer([&] { loop.close(); });
  // close() cannot complete while the wake-up is held; let it try for a while.
  std::this_thread::sleep_for(50ms);
  fake.hold_wakes(false);
  poster.join();
  closer.join();
  EXPECT_EQ(fake.events(), (std::vector<std::string>{"wake entered", "wake left", "close"}));
}

TEST_F(EventLoopTest, ThreadsafePostsBeforeTheLoopRunsShareOneWakeUp) {
  int ran = 0;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) loop.call_soon_threadsafe([&] { ++ran; });
  });
  poster.join();
  loop.call_soon_threadsafe([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(fake.wakes(), 1u);
}

TEST_F(EventLoopTest, TimerCallbackCancellingItsOwnHandleFinishesNormally) {
  // The periodic-timer pattern: the callback cancels its handle, then still uses what it
  // captured. Cancelling must not destroy the closure that is running.
  struct Witness {
    explicit Witness(bool* flag) : destroyed(flag) {}
    Witness(const Witness&) = delete;
    Witness& operator=(const Witness&) = delete;
    ~Witness() { *destroyed = true; }
    bool* destroyed;
  };
  bool destroyed = false;
  bool destroyed_while_running = true;
  restrack::TimerHandle self;
  self = loop.call_later(0ms, [&, witness = std::make_shared<Witness>(&destroyed)] {
    self.cancel();
    destroyed_while_running = destroyed;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_FALSE(destroyed_while_running);
  EXPECT_TRUE(self.cancelled());
}

TEST_F(EventLoopTest, CallSoonReturnsAHandleThatCancelsTheCallback) {
  std::vector<std::string> ran;
  restrack::Handle first = loop.call_soon([&] { ran.push_back("first"); });
  loop.call_soon([&] { ran.push_back("second"); });
  loop.call_soon([&] { loop.stop(); });
  first.cancel();
  loop.run_forever();
  EXPECT_TRUE(first.cancelled());
  EXPECT_EQ(ran, (std::vector<std::string>{"second"}));
}

TEST_F(EventLoopTest, CallLaterWithTheLongestDelayNeverFiresAndDoesNotBlockOtherTimers) {
  bool fired = false;
  loop.call_later(EventLoop::Clock::duration::max(), [&] { fired = true; });
  loop.call_later(1ms, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(fired);
}

TEST_F(EventLoopTest, ExceptionHandlerReceivesWhatEscapedACallbackWithItsSite) {
  std::vector<std::string> seen;
  loop.set_exception_handler([&](EventLoop&, const restrack::ExceptionContext& context) {
    try {
      std::rethrow_exception(context.exception);
    } catch (const std::exception& error) {
      seen.push_back(std::string(context.message) + " at " + context.where.to_string() + ": " +
                     error.what());
    }
  });
  const CallSite where = CallSite::current();
  loop.call_soon([] { throw std::runtime_error("boom"); }, where);
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<std::string>{"exception in callback at " + std::string(where.file) +
                                            ":" + std::to_string(where.line) + ": boom"}));
}

TEST_F(EventLoopTest, ExceptionHandlerThatThrowsIsLoggedAndTheLoopGoesOn) {
  LogRecorder log;
  loop.set_exception_handler(
      [](EventLoop&, const restrack::ExceptionContext&) { throw std::logic_error("handler bug"); });
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(log.lines(), (std::vector<std::string>{
                             "error: the exception handler threw std::logic_error: handler bug "
                             "while handling: exception in callback"}));
}

TEST_F(EventLoopTest, ExceptionEscapingACallbackIsLoggedAndTheLoopGoesOn) {
  LogRecorder log;
  const CallSite where = CallSite::current();
  loop.call_soon([] { throw std::runtime_error("boom"); }, where);
  bool later_ran = false;
  loop.call_soon([&] {
    later_ran = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(later_ran);
  EXPECT_EQ(log.lines(),
            (std::vector<std::string>{"error: exception in callback scheduled at " +
                                      std::string(where.file) + ":" + std::to_string(where.line) +
                                      ": std::runtime_error: boom"}));
}

TEST_F(EventLoopTest, DebugModeLogsACallbackAtLeastAsSlowAsTheThreshold) {
  LogRecorder log;
  loop.set_debug(true);
  loop.set_slow_callback_duration(0ns);  // every callback qualifies: deterministic
  const CallSite where = CallSite::current();
  loop.call_soon([&] { loop.stop(); }, where);
  loop.run_forever();
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string prefix = "warning: executing callback scheduled at " + std::string(where.file) +
                             ":" + std::to_string(where.line) + " took ";
  EXPECT_EQ(lines[0].substr(0, prefix.size()), prefix);
  EXPECT_EQ(lines[0].substr(lines[0].size() - 8), " seconds");
}

TEST_F(EventLoopTest, DebugModeIsQuietForCallbacksFasterThanTheThreshold) {
  LogRecorder log;
  loop.set_debug(true);
  loop.set_slow_callback_duration(1h);
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_TRUE(log.lines().empty());
}

TEST_F(EventLoopTest, WithoutDebugModeSlowCallbacksAreNotLogged) {
  LogRecorder log;
  loop.set_slow_callback_duration(0ns);
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_TRUE(log.lines().empty());
}

TEST(EventLoopLifetimeTest, UnclosedEventLoopWarnsAndIsClosed) {
  DiagnosticRecorder diagnostics;
  SocketPair sockets;
  restrack::Future<std::string> receive;
  {
    EventLoop loop(std::make_unique<FakeBackend>());
    receive = restrack::sock_recv(loop, sockets.first, 16);
  }
  EXPECT_EQ(diagnostics.unclosed(), (std::vector<std::string>{"event loop <backend=fake>"}));
  // Closed on the way out: its backend cancelled and drained the pending receive.
  EXPECT_TRUE(receive.cancelled());
}

TEST(EventLoopLifetimeTest, ClosedEventLoopDestroyedQuietly) {
  DiagnosticRecorder diagnostics;
  {
    EventLoop loop(std::make_unique<FakeBackend>());
    loop.close();
  }
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
