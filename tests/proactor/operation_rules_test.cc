// Part A of PROACTOR_RULES.md — operation lifetime and cancellation — on the scripted
// backend, where the test decides how each submission starts and when (and with what)
// each completion arrives. Real-kernel counterparts are in uring_backend_test.cc and
// reliability_test.cc.
//
// Rules with no Linux counterpart get their tests with the Windows backend:
//   rule 2's done-at-once special cases (ERROR_BROKEN_PIPE read = EOF, ConnectNamedPipe
//   ERROR_PIPE_CONNECTED) and rule 7 (registered wait handles) are IOCP-only.
// Rule 5 (never cancel a read to pause) is kept by construction — nothing in the loop
// cancels a read except close/abort and the user's own cancel — and is exercised byte-exact
// by reliability_test.cc (Rule5PauseByNotRearmingKeepsTheStreamByteExact).

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "array_allocation_fill.h"
#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/socket.h"

namespace restrack_test {
namespace {

using restrack::CancelledError;
using restrack::Future;
using restrack::Task;
using restrack::internal::OperationKey;

class OperationRulesTest : public FakeLoopTest {
 protected:
  void run_one_iteration() {
    loop.stop();
    loop.run_forever();
  }
  OperationKey last_submitted() const { return fake.observations().submitted.back(); }

  SocketPair sockets;
};

Task<std::string> receive(restrack::EventLoop& loop, const restrack::Socket& socket) {
  co_return co_await restrack::sock_recv(loop, socket, 16);
}

TEST_F(OperationRulesTest, Rule1CancelledReceiveIsFreedOnlyAfterItsAbortedCompletion) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  {
    Task<std::string> task = loop.create_task(receive(loop, sockets.first));
    run_one_iteration();
    task.cancel();
    EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  }  // every user reference is gone
  const OperationKey key = last_submitted();
  ASSERT_NE(fake.find(key), nullptr);  // the backend still owns record and buffer
  EXPECT_TRUE(fake.find(key)->in_flight());
  EXPECT_EQ(fake.find(key)->buffer.size(), 16u);
  fake.complete(key, -ECANCELED);
  run_one_iteration();
  EXPECT_EQ(fake.find(key), nullptr);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
}

TEST_F(OperationRulesTest, Rule2OperationDoneAtOnceStaysInFlightUntilItsCompletionPacket) {
  fake.script_next(FakeBackend::Start::done_at_once, 3);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  EXPECT_FALSE(received.done());
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_EQ(received.take_result().size(), 3u);
}

TEST_F(OperationRulesTest, Rule2OperationFailingAtOnceIsNotRegisteredAndItsErrorIsDelivered) {
  fake.script_next(FakeBackend::Start::failed_at_once, -ECONNRESET);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_TRUE(fake.observations().submitted.empty());
  EXPECT_FALSE(received.done());  // rule 3: not inside the submitting call
  run_one_iteration();
  try {
    received.take_result();
    FAIL() << "expected the submission error";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ECONNRESET);
  }
}

TEST_F(OperationRulesTest, Rule3ResultKnownAtSubmitIsDeliveredOnALaterIteration) {
  fake.script_next(FakeBackend::Start::done_at_once, 2);
  std::vector<std::string> events;
  loop.call_soon([&] {
    Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
    received.add_done_callback(
        [&] { events.push_back("delivered@" + std::to_string(fake.observations().polls)); });
    events.push_back("submitted@" + std::to_string(fake.observations().polls));
  });
  loop.call_later(std::chrono::milliseconds(1), [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(events, (std::vector<std::string>{"submitted@1", "delivered@2"}));
}

TEST_F(OperationRulesTest, Rule4CancelMarksTheFutureCancelledAtOnceAndAsksTheBackend) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_TRUE(received.cancel());
  EXPECT_TRUE(received.cancelled());
  EXPECT_EQ(fake.observations().cancel_requests, fake.observations().submitted);
  EXPECT_EQ(loop.operations_in_flight(), 1u);  // a request, not a completion
  fake.complete(last_submitted(), -ECANCELED);
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
}

TEST_F(OperationRulesTest, Rule4LateSuccessAfterCancelIsSwallowed) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  received.cancel();
  fake.complete(last_submitted(), 10);  // the kernel delivered data anyway
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_TRUE(received.cancelled());
  EXPECT_THROW(received.take_result(), CancelledError);
}

TEST_F(OperationRulesTest, Rule4LatePartialSendAfterCancelIsNotResubmitted) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<void> sent = restrack::sock_sendall(loop, sockets.first, std::string(100, 'x'));
  sent.cancel();
  fake.complete(last_submitted(), 40);  // io_uring: a cancelled send can report a count
  run_one_iteration();
  EXPECT_EQ(fake.observations().submitted.size(), 1u);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_TRUE(sent.cancelled());
}

TEST_F(OperationRulesTest, Rule4CancellingACompletedOperationIsHarmless) {
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  fake.complete(last_submitted(), 4);
  run_one_iteration();
  EXPECT_FALSE(received.cancel());
  EXPECT_TRUE(fake.observations().cancel_requests.empty());
  EXPECT_EQ(received.take_result().size(), 4u);
}

TEST_F(OperationRulesTest, Rule4CancellingTwiceAsksTheBackendOnce) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_TRUE(received.cancel());
  EXPECT_FALSE(received.cancel());
  EXPECT_EQ(fake.observations().cancel_requests.size(), 1u);
  fake.complete(last_submitted(), -ECANCELED);
  run_one_iteration();
}

TEST_F(OperationRulesTest, Rule4AcceptCompletingAfterCancelClosesTheAcceptedDescriptor) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<restrack::Socket> accepted = restrack::sock_accept(loop, sockets.first);
  accepted.cancel();
  const restrack::NativeSocket late_connection = open_unowned_socket();
  ASSERT_NE(late_connection, restrack::kInvalidSocket);
  fake.complete(last_submitted(), static_cast<int>(late_connection));
  run_one_iteration();
  EXPECT_TRUE(is_closed(late_connection));
}

TEST_F(OperationRulesTest, Rule6StaleKeyOfAReusedSlotIsIgnored) {
  LogRecorder log;
  Future<std::string> first = restrack::sock_recv(loop, sockets.first, 16);
  const OperationKey first_key = last_submitted();
  fake.complete(first_key, 1);
  run_one_iteration();
  Future<std::string> second = restrack::sock_recv(loop, sockets.first, 16);
  const OperationKey second_key = last_submitted();
  EXPECT_NE(second_key, first_key);                                // new generation...
  EXPECT_EQ(second_key & 0xFFFF'FFFFu, first_key & 0xFFFF'FFFFu);  // ...same slot
  fake.complete(first_key, 2);  // a stale packet naming the old generation
  run_one_iteration();
  EXPECT_FALSE(second.done());
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  char expected[96];
  std::snprintf(expected, sizeof expected,
                "debug: ignoring a completion for unknown operation key %#llx (result 2)",
                static_cast<unsigned long long>(first_key));
  EXPECT_EQ(log.lines(), (std::vector<std::string>{expected}));
  fake.complete(second_key, 1);
  run_one_iteration();
  EXPECT_EQ(second.take_result().size(), 1u);
}

TEST_F(OperationRulesTest, Rule6KeyThatWasNeverIssuedIsIgnored) {
  LogRecorder log;
  fake.complete(0x7777'0000'0042u, 0);
  run_one_iteration();
  EXPECT_EQ(log.lines(),
            (std::vector<std::string>{"debug: ignoring a completion for unknown operation key "
                                      "0x777700000042 (result 0)"}));
}

TEST_F(OperationRulesTest, Rule8ShortSendIsResubmittedWithTheRemainder) {
  Future<void> sent = restrack::sock_sendall(loop, sockets.first, "0123456789");
  fake.complete(last_submitted(), 4);
  run_one_iteration();
  ASSERT_EQ(fake.observations().submitted.size(), 2u);
  const restrack::internal::Operation* remainder = fake.find(last_submitted());
  ASSERT_NE(remainder, nullptr);
  EXPECT_EQ(remainder->buffer.view(remainder->buffer.size()).substr(remainder->offset), "456789");
  EXPECT_FALSE(sent.done());
  fake.complete(last_submitted(), 6);
  run_one_iteration();
  EXPECT_TRUE(sent.done());
  EXPECT_NO_THROW(sent.take_result());
}

TEST_F(OperationRulesTest, Rule8CancellationThatTheBackendAnswersLateStillFinishesTheTarget) {
  // -EALREADY: the cancel found the request already running; only the target's own
  // completion ends it, and until then the operation stays in flight.
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  received.cancel();
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  fake.complete(last_submitted(), -EINTR);
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_TRUE(received.cancelled());
}

TEST(OperationTableTest, Rule6GenerationWrapsPastZeroSoNoKeyIsEverTheNoOperationKey) {
  restrack::internal::OperationTable table;
  table.set_generation_for_test(0, 0xFFFF'FFFFu);
  int completions = 0;
  int abandons = 0;
  const OperationKey last =
      table.insert(std::make_unique<CountingOperation>(0, &completions, &abandons));
  ASSERT_EQ(last, 0xFFFF'FFFF'0000'0000u);
  ASSERT_NE(table.reap(last, 0), nullptr);
  const OperationKey next =
      table.insert(std::make_unique<CountingOperation>(0, &completions, &abandons));
  EXPECT_NE(next, restrack::internal::kNoOperation);
  EXPECT_EQ(next, 0x0000'0001'0000'0000u);
  ASSERT_NE(table.reap(next, 0), nullptr);
}

TEST_F(OperationRulesTest, ReceiveBufferIsNotZeroFilledBeforeTheKernelWritesIt) {
  // The allocation is filled with 0xA5 here; a buffer that was zero-filled on every
  // receive (a pass over up to max_bytes per call) shows zeros.
  fill_next_array_allocations(true);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 4096);
  fill_next_array_allocations(false);
  const restrack::internal::Operation* operation = fake.find(last_submitted());
  ASSERT_NE(operation, nullptr);
  ASSERT_EQ(operation->buffer.size(), 4096u);
  EXPECT_EQ(std::string(operation->buffer.view(4096)), std::string(4096, '\xA5'));
  received.cancel();
  run_one_iteration();
}

}  // namespace
}  // namespace restrack_test
