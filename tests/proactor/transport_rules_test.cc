// Part D of PROACTOR_RULES.md on the scripted backend: the order of protocol callbacks,
// closing and aborting, pausing, flow control, short sends, setup failures and servers.
// The test decides when each operation completes and with what; nothing depends on timing.
// Real-kernel counterparts are in transport_test.cc; connect_pipe's busy retry, POSIX only
// for now, in transport_rules_posix_test.cc; the subprocess rule 28 in
// subprocess_rules_test.cc.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "restrack/live.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/transport.h"
#include "test_platform.h"
#include "transport_fixture.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::CancelledError;
using restrack::SocketAddress;
using restrack::StreamTransport;
using restrack::Task;
using restrack::internal::OperationType;
using Events = std::vector<std::string>;

TEST_F(TransportRulesTest, Rule19CallbacksComeInOrderMadeDataEofLost) {
  auto transport = connect(protocol);
  complete_recv(in_flight(OperationType::recv), "hello");
  run_one_iteration();
  complete_recv(in_flight(OperationType::recv), " world");
  run_one_iteration();
  fake.complete(in_flight(OperationType::recv), 0);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "data hello", "data  world", "eof", "lost"}));
  EXPECT_TRUE(transport->is_closing());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(TransportRulesTest, Rule19CloseInsideConnectionMadeMeansNoReadIsEverIssued) {
  protocol->on_made = [](StreamTransport& transport) { transport.close(); };
  auto transport = connect(protocol);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
  EXPECT_EQ(fake.observations().submitted_types,
            (std::vector<OperationType>{OperationType::connect}));
}

TEST_F(TransportRulesTest, Rule20EofReceivedReturningFalseClosesTheTransport) {
  auto transport = connect(protocol);
  fake.complete(in_flight(OperationType::recv), 0);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "eof", "lost"}));
}

TEST_F(TransportRulesTest, Rule20EofReceivedReturningTrueKeepsItHalfOpenForWriting) {
  protocol->keep_open_at_eof = true;
  auto transport = connect(protocol);
  fake.complete(in_flight(OperationType::recv), 0);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "eof"}));
  EXPECT_FALSE(transport->is_closing());
  transport->write("reply");
  const OperationKey send = in_flight(OperationType::send);
  EXPECT_EQ(fake.find(send)->buffer.view(5), "reply");
  transport->close();
  fake.complete(send, 5);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "eof", "lost"}));
}

TEST_F(TransportRulesTest, Rule20PeerResetSurfacesAsConnectionLostWithoutLogNoise) {
  LogRecorder log;
  auto transport = connect(protocol);
  fake.complete(in_flight(OperationType::recv), -ECONNRESET);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost: ECONNRESET"}));
  EXPECT_TRUE(handled.empty());
  EXPECT_TRUE(log.lines().empty());
}

TEST_F(TransportRulesTest, Rule21CloseIsIdempotentAndFlushesBeforeConnectionLost) {
  auto transport = connect(protocol);
  transport->write("abc");
  const OperationKey send = in_flight(OperationType::send);
  transport->close();
  transport->close();
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made"}));  // the buffer is not flushed yet
  fake.complete(send, 3);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
}

TEST_F(TransportRulesTest, Rule21AbortAfterCloseStillCancelsThePendingWrite) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  auto transport = connect(protocol);
  transport->write("abc");
  const OperationKey send = in_flight(OperationType::send);
  transport->close();
  transport->abort();
  const auto& cancels = fake.observations().cancel_requests;
  EXPECT_NE(std::find(cancels.begin(), cancels.end(), send), cancels.end());
  EXPECT_EQ(transport->write_buffer_size(), 0u);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
  fake.complete(send, -ECANCELED);
  fake.complete(in_flight(OperationType::recv), -ECANCELED);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
}

TEST_F(TransportRulesTest, Rule21WriteErrorAfterCloseStillDeliversConnectionLost) {
  auto transport = connect(protocol);
  transport->write("abc");
  const OperationKey send = in_flight(OperationType::send);
  transport->close();
  fake.complete(send, -EPIPE);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost: EPIPE"}));
}

TEST_F(TransportRulesTest, Rule21CloseAndAbortFromPauseWritingGiveOneConnectionLost) {
  protocol->on_pause = [](StreamTransport& transport) {
    transport.close();
    transport.abort();
    transport.close();
  };
  auto transport = connect(protocol);
  transport->set_write_buffer_limits(4, 0);
  transport->write("hello!");
  run_iterations(3);
  EXPECT_EQ(protocol->events, (Events{"made", "pause", "lost"}));
}

TEST_F(TransportRulesTest, Rule24PausedReadingParksACompletedReceiveUntilResume) {
  auto transport = connect(protocol);
  const OperationKey receive = in_flight(OperationType::recv);
  transport->pause_reading();
  EXPECT_FALSE(transport->is_reading());
  EXPECT_TRUE(fake.observations().cancel_requests.empty());  // rule 5: not cancelled
  complete_recv(receive, "parked");
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made"}));
  transport->resume_reading();
  EXPECT_EQ(protocol->events, (Events{"made"}));  // never inside the user's call (rule 3)
  run_one_iteration();
  EXPECT_EQ(protocol->events, (Events{"made", "data parked"}));
  EXPECT_NE(fake.find(in_flight(OperationType::recv)), nullptr);  // re-armed
  transport->close();
  run_iterations(2);
}

TEST_F(TransportRulesTest, Rule25PauseWritingAboveHighAndResumeWritingAtLowCalledOnceEach) {
  auto transport = connect(protocol);
  transport->set_write_buffer_limits(8, 2);
  transport->write("12345");  // in flight: 5
  EXPECT_EQ(protocol->events, (Events{"made"}));
  transport->write("67890");  // 10 buffered > 8
  transport->write("x");      // still paused: no second call
  EXPECT_EQ(protocol->events, (Events{"made", "pause"}));
  EXPECT_EQ(transport->write_buffer_size(), 11u);
  fake.complete(in_flight(OperationType::send), 5);
  run_one_iteration();
  EXPECT_EQ(transport->write_buffer_size(), 6u);
  EXPECT_EQ(protocol->events, (Events{"made", "pause"}));
  fake.complete(in_flight(OperationType::send), 4);
  run_one_iteration();
  EXPECT_EQ(transport->write_buffer_size(), 2u);  // at the low mark
  EXPECT_EQ(protocol->events, (Events{"made", "pause", "resume"}));
  transport->abort();
  run_iterations(2);
}

TEST_F(TransportRulesTest, Rule25DefaultLimitsAreSixtyFourKibAndAQuarter) {
  auto transport = connect(protocol);
  EXPECT_EQ(transport->write_buffer_limits().high, 65536u);
  EXPECT_EQ(transport->write_buffer_limits().low, 16384u);
  transport->close();
  run_iterations(2);
}

TEST_F(TransportRulesTest, Rule25InvalidLimitsAreRejectedNamingThem) {
  auto transport = connect(protocol);
  try {
    transport->set_write_buffer_limits(2, 4);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "write buffer limits: high (2) must be >= low (4)");
  }
  EXPECT_EQ(transport->write_buffer_limits().high, 65536u);
  transport->close();
  run_iterations(2);
}

TEST_F(TransportRulesTest, Rule25WriteCopiesTheUsersData) {
  auto transport = connect(protocol);
  std::string data = "first";
  transport->write(data);
  data = "XXXXX";
  EXPECT_EQ(fake.find(in_flight(OperationType::send))->buffer.view(5), "first");
  transport->abort();
  run_iterations(2);
}

TEST_F(TransportRulesTest, Rule26ShortSendIsResubmittedForTheRemainder) {
  auto transport = connect(protocol);
  transport->write("abcdef");
  const OperationKey first = in_flight(OperationType::send);
  fake.complete(first, 2);
  run_one_iteration();
  const OperationKey second = in_flight(OperationType::send);
  EXPECT_NE(second, first);
  EXPECT_EQ(fake.find(second)->offset, 2u);
  EXPECT_EQ(transport->write_buffer_size(), 4u);
  fake.complete(second, 4);
  run_one_iteration();
  EXPECT_EQ(transport->write_buffer_size(), 0u);
  transport->close();
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
}

TEST_F(TransportRulesTest, WriteAfterCloseIsCountedAndLoggedOnceNeverThrown) {
  LogRecorder log(spdlog::level::warn);
  auto transport = connect(protocol);
  transport->close();
  transport->write("late 1");
  transport->write("late 2");
  transport->write("late 3");
  run_iterations(2);
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_search(
      lines[0], std::regex(std::string(R"(^warning: write\(\) on a closing transport ignored: )") +
                           kTcpSocketDescription)))
      << lines[0];
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
}

TEST_F(TransportRulesTest, ProtocolCallbackThatThrowsGoesToTheHandlerAndAbortsTheTransport) {
  protocol->on_data = [](StreamTransport&, std::string_view) {
    throw std::runtime_error("bad data");
  };
  auto transport = connect(protocol);
  complete_recv(in_flight(OperationType::recv), "boom");
  run_iterations(2);
  EXPECT_EQ(handled,
            (std::vector<std::string>{"exception in StreamProtocol::data_received: bad data"}));
  EXPECT_EQ(protocol->events, (Events{"made", "data boom", "lost"}));
  EXPECT_TRUE(transport->is_closing());
  // The loop keeps running.
  bool ran = false;
  loop.call_soon([&] { ran = true; });
  run_one_iteration();
  EXPECT_TRUE(ran);
}

TEST_F(TransportRulesTest, Rule27FactoryThatThrowsClosesTheConnectionWithoutLeakOrWarning) {
  const int descriptors = open_descriptor_count();
  fake.script_next(FakeBackend::Start::done_at_once, 0);
  EXPECT_THROW(loop.run_until_complete(restrack::create_connection(
                   loop,
                   []() -> std::shared_ptr<restrack::StreamProtocol> {
                     throw std::runtime_error("no protocol");
                   },
                   SocketAddress::ipv4("127.0.0.1", 9))),
               std::runtime_error);
  EXPECT_EQ(open_descriptor_count(), descriptors);
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(TransportRulesTest, Rule27ConnectionMadeThatThrowsIsFollowedByConnectionLost) {
  const int descriptors = open_descriptor_count();
  protocol->on_made = [](StreamTransport&) { throw std::runtime_error("made failed"); };
  try {
    connect(protocol);
    FAIL() << "expected the exception of connection_made";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "made failed");
  }
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost: made failed"}));
  EXPECT_EQ(open_descriptor_count(), descriptors);
  EXPECT_TRUE(diagnostics.recorded().empty());
  EXPECT_TRUE(handled.empty());  // the creator got it
}

TEST_F(TransportRulesTest, Rule27CreateConnectionCancelledAfterConnectClosesTheTransport) {
  const int descriptors = open_descriptor_count();
  bool factory_called = false;
  fake.script_next(FakeBackend::Start::done_at_once, 0);
  Task<std::shared_ptr<StreamTransport>> connecting = loop.create_task(restrack::create_connection(
      loop,
      [&] {
        factory_called = true;
        return protocol;
      },
      SocketAddress::ipv4("127.0.0.1", 9)));
  while (!factory_called) run_one_iteration();
  connecting.cancel();  // connected, connection_made scheduled, not yet run
  EXPECT_THROW(loop.run_until_complete(connecting), CancelledError);
  run_iterations(2);
  EXPECT_EQ(protocol->events, (Events{"made", "lost"}));
  EXPECT_EQ(open_descriptor_count(), descriptors);
  EXPECT_TRUE(diagnostics.recorded().empty());
}

// --- Servers (rules 15, 16, 23) ---

TEST_F(TransportRulesTest, Rule16AcceptCompletingAfterCloseIsClosedWithoutCallingTheFactory) {
  fake.set_on_cancel(FakeBackend::OnCancel::record_only);
  int factory_calls = 0;
  restrack::Server server = restrack::create_server(
      loop,
      [&] {
        ++factory_calls;
        return protocol;
      },
      SocketAddress::ipv4("127.0.0.1", 0));
  const OperationKey accept = in_flight(OperationType::accept);
  server.close();
  EXPECT_FALSE(server.is_serving());
  const auto& cancels = fake.observations().cancel_requests;
  EXPECT_NE(std::find(cancels.begin(), cancels.end(), accept), cancels.end());
  const restrack::NativeSocket accepted = open_unowned_socket();
  ASSERT_NE(accepted, restrack::kInvalidSocket);
  // The accept won the race against its cancellation.
  fake.complete(accept, static_cast<int>(accepted));
  run_iterations(2);
  EXPECT_EQ(factory_calls, 0);
  EXPECT_TRUE(is_closed(accepted));
}

TEST_F(TransportRulesTest, Rule23AcceptErrorForOneConnectionReArmsTheAccept) {
  restrack::Server server = restrack::create_server(
      loop, [&] { return protocol; }, SocketAddress::ipv4("127.0.0.1", 0));
  const OperationKey first = in_flight(OperationType::accept);
  fake.complete(first, -ECONNABORTED);
  run_one_iteration();
  const OperationKey second = in_flight(OperationType::accept);
  EXPECT_NE(second, first);
  EXPECT_TRUE(server.is_serving());
  EXPECT_TRUE(handled.empty());
  server.close();
  run_iterations(2);
}

}  // namespace
}  // namespace restrack_test
