// Part B of PROACTOR_RULES.md — loop close and shutdown — on the scripted backend.
// Real-kernel counterparts: uring_backend_test.cc (rules 10, 13) and reliability_test.cc
// (rule 12, close with 1,000 pending).

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "fake_backend.h"
#include "loop_access.h"
#include "loop_fixture.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::Future;
using restrack::internal::OperationKey;

class LoopCloseTest : public FakeLoopTest {
 protected:
  SocketPair sockets;
};

TEST_F(LoopCloseTest, Rule9CloseCancelsOperationsAndDropsCallbacksTheCancellationScheduled) {
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  int callbacks_run = 0;
  received.add_done_callback([&] { ++callbacks_run; });
  loop.call_soon([&] { ++callbacks_run; });
  loop.close();
  EXPECT_EQ(fake.observations().cancel_requests, fake.observations().submitted);
  EXPECT_TRUE(received.cancelled());
  EXPECT_EQ(callbacks_run, 0);
}

TEST_F(LoopCloseTest, Rule10CloseCancelsEveryOperationThenReapsUntilNoneIsInFlight) {
  std::vector<Future<std::string>> received;
  received.reserve(3);
  for (int i = 0; i < 3; ++i) received.push_back(restrack::sock_recv(loop, sockets.first, 16));
  loop.close();
  EXPECT_EQ(fake.observations().cancel_requests, fake.observations().submitted);
  EXPECT_EQ(fake.observations().cancel_requests.size(), 3u);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  for (Future<std::string>& future : received) EXPECT_TRUE(future.cancelled());
}

TEST_F(LoopCloseTest, Rule10SubmittingAfterCloseThrowsAClearError) {
  loop.close();
  try {
    restrack::sock_recv(loop, sockets.first, 16);
    FAIL() << "expected LoopClosedError";
  } catch (const restrack::LoopClosedError& error) {
    EXPECT_STREQ(error.what(), "event loop is closed");
  }
}

TEST(LoopCloseDeadlineTest, Rule10OperationThatNeverCompletesIsReportedAtTheDeadlineAndLeaked) {
  LogRecorder log(spdlog::level::info);
  SocketPair sockets;
  auto owned = std::make_unique<FakeBackend>(std::chrono::milliseconds(0));
  FakeBackend& fake = *owned;
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  EventLoop loop(std::move(owned));
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  const OperationKey key = fake.observations().submitted.at(0);
  loop.close();
  EXPECT_EQ(fake.observations().cancel_requests, (std::vector<OperationKey>{key}));
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  EXPECT_EQ(loop.operations_in_flight(), 0u);  // no longer the backend's: leaked on purpose
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string expected_start =
      "error: closing: 1 operations did not complete within 0 ms of their cancellation; their "
      "memory is leaked on purpose because the kernel may still write into it:\n  recv fd=" +
      std::to_string(sockets.first.get()) + " 16 bytes, submitted at:";
  EXPECT_EQ(lines[0].substr(0, expected_start.size()), expected_start);
}

TEST(LoopCloseProgressTest, Rule10CloseLogsWhatIsStillPendingAboutOnceASecond) {
  LogRecorder log(spdlog::level::info);
  SocketPair sockets;
  // 1.5 s: one progress report at the 1 s mark, then the deadline.
  auto owned = std::make_unique<FakeBackend>(std::chrono::milliseconds(1500));
  owned->set_on_cancel(FakeBackend::OnCancel::record_only);
  EventLoop loop(std::move(owned));
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  loop.close();
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  const std::string pending =
      "\n  recv fd=" + std::to_string(sockets.first.get()) + " 16 bytes, submitted at:";
  const std::string progress = "info: closing: 1 operations still in flight:" + pending;
  EXPECT_EQ(lines[0].substr(0, progress.size()), progress);
  const std::string deadline = "error: closing: 1 operations did not complete within 1500 ms";
  EXPECT_EQ(lines[1].substr(0, deadline.size()), deadline);
}

TEST_F(LoopCloseTest, Rule11AcceptCompletingDuringCloseIsClosedWithoutReachingItsFuture) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<restrack::Socket> accepted = restrack::sock_accept(loop, sockets.first);
  const restrack::NativeSocket connection = open_unowned_socket();
  ASSERT_NE(connection, restrack::kInvalidSocket);
  // The connection arrives while close() drains: nothing will ever run the ready queue.
  fake.complete(fake.observations().submitted.at(0), static_cast<int>(connection));
  loop.close();
  EXPECT_TRUE(is_closed(connection));
  EXPECT_TRUE(accepted.cancelled());
}

TEST_F(LoopCloseTest, Rule13AbandonedCompletionHandlersAreDestroyedNotInvoked) {
  int completions = 0;
  int abandons = 0;
  restrack::internal::LoopAccess::submit(
      loop, std::make_unique<CountingOperation>(sockets.first.get(), &completions, &abandons));
  loop.close();
  EXPECT_EQ(completions, 0);
  EXPECT_EQ(abandons, 1);
  EXPECT_EQ(loop.operations_in_flight(), 0u);  // reaped and freed by the backend
}

TEST_F(LoopCloseTest, Rule13CloseOfAnIdleLoopCancelsNothing) {
  loop.close();
  EXPECT_TRUE(fake.observations().cancel_requests.empty());
  EXPECT_TRUE(fake.closed());
}

}  // namespace
}  // namespace restrack_test
