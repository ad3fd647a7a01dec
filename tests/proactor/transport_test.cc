// Transports, servers and streams on the platform's backend (io_uring on Linux, IOCP on
// Windows) over real loopback TCP and UDP sockets. Ordering and race rules are on the
// scripted backend (transport_rules_test.cc); AF_UNIX and pipes, POSIX only so far, in
// transport_posix_test.cc; subprocesses in subprocess_test.cc.
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/transport.h"
#include "test_platform.h"
#include "transport_fixture.h"
#include "transport_loop_fixture.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::SocketAddress;
using restrack::Task;
using Events = std::vector<std::string>;

TEST_F(TransportTest, TcpIpv4ConnectionEchoesThroughAServer) {
  restrack::Server server = restrack::create_server(
      loop, [] { return std::make_shared<Echo>(); }, SocketAddress::ipv4("127.0.0.1", 0));
  expect_echo(loop, server.sockets().at(0));
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> Task<void> { co_await s.wait_closed(); }(server));
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(TransportTest, TcpIpv6ConnectionEchoesThroughAServer) {
  restrack::Socket probe = restrack::open_socket(AF_INET6, SOCK_STREAM);
  const SocketAddress loopback6 = SocketAddress::ipv6("::1", 0);
  const bool has_ipv6 = ::bind(probe.get(), loopback6.get(), loopback6.length()) == 0;
  probe.close();
  if (!has_ipv6) GTEST_SKIP() << "no IPv6 loopback on this machine";
  restrack::Server server = restrack::create_server(
      loop, [] { return std::make_shared<Echo>(); }, loopback6);
  expect_echo(loop, server.sockets().at(0));
  server.close();
}

TEST_F(TransportTest, Rule16ClosedServerLeavesOpenConnectionsWorkingAndWaitClosedWaitsForThem) {
  restrack::Server server = restrack::create_server(
      loop, [] { return std::make_shared<Echo>(); }, SocketAddress::ipv4("127.0.0.1", 0));
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, server.sockets().at(0)));
  run_until([&] { return server.connection_count() == 1; });
  server.close();
  EXPECT_FALSE(server.is_serving());
  restrack::Future<void> closed = server.wait_closed();
  transport->write("still here");
  run_until([&] { return client->events.size() == 2; });
  EXPECT_EQ(client->events, (Events{"made", "data still here"}));
  EXPECT_FALSE(closed.done());
  transport->close();
  run_until([&] { return closed.done(); });
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST_F(TransportTest, Rule20PeerResetEndsTheConnectionWithItsErrorAndNoLogNoise) {
  LogRecorder log(spdlog::level::warn);
  restrack::Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  restrack::Socket peer(::accept(listener.get(), nullptr, nullptr), restrack::kinds::socket);
  const linger reset{1, 0};
  ASSERT_EQ(::setsockopt(peer.get(), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&reset),
                         sizeof reset),
            0);
  peer.close();  // RST
  run_until([&] { return client->events.size() == 2; });
  EXPECT_EQ(client->events, (Events{"made", "lost: ECONNRESET"}));
  EXPECT_TRUE(handled.empty());
  EXPECT_TRUE(log.lines().empty());
  listener.close();
}

TEST_F(TransportTest, Rule22ConnectionLostRunsWhileTheHandleIsStillOpenThenItIsClosed) {
  restrack::Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  auto client = std::make_shared<RecordingProtocol>();
  restrack::NativeSocket handle = restrack::kInvalidSocket;
  bool open_during_lost = false;
  client->on_lost = [&] { open_during_lost = !is_closed(handle); };
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  handle = transport->native_handle();
  transport->close();
  run_until([&] { return client->events.size() == 2; });
  EXPECT_TRUE(open_during_lost);
  EXPECT_EQ(transport->native_handle(), restrack::kInvalidSocket);
  EXPECT_TRUE(is_closed(handle));
  listener.close();
}

TEST_F(TransportTest, UnclosedTransportWarnsAndClosesItsSocketWithoutCallingTheProtocol) {
  restrack::Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  restrack::Socket peer(::accept(listener.get(), nullptr, nullptr), restrack::kinds::socket);
  const int callbacks_before = static_cast<int>(loop.operations_in_flight());
  transport.reset();  // forgot close()
  const std::vector<std::string> unclosed = diagnostics.unclosed();
  ASSERT_EQ(unclosed.size(), 1u);
  EXPECT_TRUE(
      std::regex_match(unclosed[0], std::regex(std::string("transport <") + kTcpSocketDescription +
                                               R"( 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+ reading>)")))
      << unclosed[0];
  EXPECT_EQ(client->events, (Events{"made"}));  // never the protocol
  char byte;
  EXPECT_EQ(::recv(peer.get(), &byte, 1, 0), 0);  // the peer sees the connection end
  run_a_little();
  EXPECT_EQ(client->events, (Events{"made"}));
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  static_cast<void>(callbacks_before);
  peer.close();
  listener.close();
}

// --- Streams ---

Task<std::vector<std::string>> talk(EventLoop& loop, SocketAddress address) {
  auto [reader, writer] = co_await restrack::open_connection(loop, address);
  writer.write("one\ntwo\n");
  co_await writer.drain();
  std::vector<std::string> replies;
  replies.push_back(co_await reader.read_line());
  replies.push_back(co_await reader.read_exactly(4));
  writer.write_eof();
  try {
    co_await reader.read_exactly(1);
  } catch (const restrack::IncompleteReadError& error) {
    replies.push_back("incomplete " + std::to_string(error.partial.size()));
  }
  writer.close();
  co_await writer.wait_closed();
  co_return replies;
}

TEST_F(TransportTest, StreamsReadLinesAndExactCountsThroughAStreamServer) {
  restrack::Server server =
      restrack::start_server(loop, echo_lines, SocketAddress::ipv4("127.0.0.1", 0));
  EXPECT_EQ(loop.run_until_complete(talk(loop, server.sockets().at(0))),
            (std::vector<std::string>{"one\n", "two\n", "incomplete 0"}));
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> Task<void> { co_await s.wait_closed(); }(server));
  EXPECT_TRUE(diagnostics.recorded().empty());
}

// --- Datagrams ---

class DatagramEcho final : public restrack::DatagramProtocol {
 public:
  void connection_made(restrack::DatagramTransport& made) override { transport = &made; }
  void datagram_received(std::string_view data, const SocketAddress& sender) override {
    received.emplace_back(data);
    if (echo) transport->sendto(data, sender);
  }
  restrack::DatagramTransport* transport = nullptr;
  std::vector<std::string> received;
  bool echo = false;
};

TEST_F(TransportTest, DatagramEndpointsExchangeDatagrams) {
  auto server = std::make_shared<DatagramEcho>();
  server->echo = true;
  auto server_transport = loop.run_until_complete(restrack::create_datagram_endpoint(
      loop, [server] { return server; }, SocketAddress::ipv4("127.0.0.1", 0)));
  auto client = std::make_shared<DatagramEcho>();
  auto client_transport = loop.run_until_complete(restrack::create_datagram_endpoint(
      loop, [client] { return client; }, SocketAddress::ipv4("127.0.0.1", 0),
      server_transport->local_address()));
  client_transport->sendto("one");
  client_transport->sendto("two");
  run_until([&] { return client->received.size() == 2; });
  EXPECT_EQ(server->received, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(client->received, (std::vector<std::string>{"one", "two"}));
  client_transport->close();
  server_transport->close();
  run_a_little();
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
