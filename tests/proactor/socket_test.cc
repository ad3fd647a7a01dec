// Socket operations as awaitables on real io_uring: TCP over IPv4 and IPv6, AF_UNIX
// streams, UDP datagrams, receive into a caller buffer, send-all of a large buffer.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <gtest/gtest.h>

#include "capture.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/task.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::SocketAddress;
using restrack::Task;
using restrack::TrackedFd;

constexpr std::size_t kReadSize = std::size_t{64} << 10;

// Accepts one connection and echoes what it receives until end-of-file.
Task<std::size_t> echo_one_connection(EventLoop& loop, const TrackedFd& listener) {
  TrackedFd connection = co_await restrack::sock_accept(loop, listener);
  std::size_t echoed = 0;
  while (true) {
    std::string data = co_await restrack::sock_recv(loop, connection, kReadSize);
    if (data.empty()) break;
    echoed += data.size();
    co_await restrack::sock_sendall(loop, connection, data);
  }
  connection.close();
  co_return echoed;
}

Task<void> send_then_shut_down(EventLoop& loop, const TrackedFd& socket, std::string message) {
  co_await restrack::sock_sendall(loop, socket, message);
  ::shutdown(socket.get(), SHUT_WR);
}

// Connects, sends `message` while reading the echo back concurrently (so neither side's
// buffers can fill up and stall the other), and closes.
Task<std::string> round_trip(EventLoop& loop, SocketAddress address, std::string message) {
  TrackedFd client = restrack::open_socket(address.family(), SOCK_STREAM);
  co_await restrack::sock_connect(loop, client, address);
  Task<void> sending = loop.create_task(send_then_shut_down(loop, client, message));
  std::string echoed;
  while (true) {
    std::string data = co_await restrack::sock_recv(loop, client, kReadSize);
    if (data.empty()) break;
    echoed += data;
  }
  co_await sending;
  client.close();
  co_return echoed;
}

Task<std::string> echo_through(EventLoop& loop, const TrackedFd& listener, SocketAddress address,
                               std::string message) {
  Task<std::size_t> server = loop.create_task(echo_one_connection(loop, listener));
  std::string echoed = co_await round_trip(loop, address, std::move(message));
  const std::size_t server_echoed = co_await server;
  EXPECT_EQ(server_echoed, echoed.size());
  co_return echoed;
}

class SocketTest : public testing::Test {
 protected:
  ~SocketTest() override {
    if (!loop.is_closed()) loop.close();
  }
  EventLoop loop;
};

TEST_F(SocketTest, TcpOverIpv4EchoesAMessage) {
  TrackedFd listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  const SocketAddress address = restrack::local_address(listener);
  EXPECT_EQ(loop.run_until_complete(echo_through(loop, listener, address, "hello over ipv4")),
            "hello over ipv4");
  listener.close();
}

TEST_F(SocketTest, TcpOverIpv6EchoesAMessage) {
  TrackedFd probe = restrack::open_socket(AF_INET6, SOCK_STREAM);
  const SocketAddress loopback6 = SocketAddress::ipv6("::1", 0);
  const bool has_ipv6 = ::bind(probe.get(), loopback6.get(), loopback6.length()) == 0;
  probe.close();
  if (!has_ipv6) GTEST_SKIP() << "no IPv6 loopback on this machine";
  TrackedFd listener = restrack::listen_on(loopback6);
  const SocketAddress address = restrack::local_address(listener);
  EXPECT_EQ(address.to_string().substr(0, 5), "[::1]");
  EXPECT_EQ(loop.run_until_complete(echo_through(loop, listener, address, "hello over ipv6")),
            "hello over ipv6");
  listener.close();
}

TEST_F(SocketTest, UnixStreamEchoesAMessage) {
  const std::string path = "/tmp/restrack-proactor-test-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  TrackedFd listener = restrack::listen_on(SocketAddress::unix_path(path));
  EXPECT_EQ(loop.run_until_complete(
                echo_through(loop, listener, SocketAddress::unix_path(path), "hello over unix")),
            "hello over unix");
  listener.close();
  ::unlink(path.c_str());
}

TEST_F(SocketTest, SendAllDeliversEveryByteOfALargeBufferInOrder) {
  TrackedFd listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  std::string message(std::size_t{4} << 20, '\0');
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>(i * 31 % 251);
  const std::string echoed = loop.run_until_complete(
      echo_through(loop, listener, restrack::local_address(listener), message));
  EXPECT_TRUE(echoed == message);
  listener.close();
}

Task<std::size_t> receive_into(EventLoop& loop, const TrackedFd& socket, std::span<char> buffer) {
  co_return co_await restrack::sock_recv_into(loop, socket, buffer);
}

TEST_F(SocketTest, RecvIntoFillsTheCallersBuffer) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  TrackedFd first(fds[0], restrack::kinds::socket);
  TrackedFd second(fds[1], restrack::kinds::socket);
  ASSERT_EQ(::send(second.get(), "abcdef", 6, 0), 6);
  char buffer[4] = {'-', '-', '-', '-'};
  EXPECT_EQ(loop.run_until_complete(receive_into(loop, first, buffer)), 4u);
  EXPECT_EQ(std::string(buffer, 4), "abcd");
  first.close();
  second.close();
}

Task<std::string> receive(EventLoop& loop, const TrackedFd& socket) {
  co_return co_await restrack::sock_recv(loop, socket, 64);
}

TEST_F(SocketTest, RecvReturnsAnEmptyStringAtEndOfFile) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  TrackedFd first(fds[0], restrack::kinds::socket);
  TrackedFd second(fds[1], restrack::kinds::socket);
  second.close();
  EXPECT_EQ(loop.run_until_complete(receive(loop, first)), "");
  first.close();
}

Task<void> connect_to(EventLoop& loop, SocketAddress address) {
  TrackedFd client = restrack::open_socket(address.family(), SOCK_STREAM);
  try {
    co_await restrack::sock_connect(loop, client, address);
  } catch (...) {
    client.close();
    throw;
  }
  client.close();
}

TEST_F(SocketTest, ConnectToAClosedPortThrowsConnectionRefused) {
  TrackedFd listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  const SocketAddress address = restrack::local_address(listener);
  listener.close();
  try {
    loop.run_until_complete(connect_to(loop, address));
    FAIL() << "expected ECONNREFUSED";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ECONNREFUSED);
    EXPECT_EQ(error.code(), std::errc::connection_refused);
    EXPECT_TRUE(std::string_view(error.what()).ends_with(": Connection refused")) << error.what();
  }
}

Task<restrack::Datagram> udp_exchange(EventLoop& loop, const TrackedFd& receiver,
                                      const TrackedFd& sender, SocketAddress to) {
  Task<restrack::Datagram> receiving =
      loop.create_task([](EventLoop& l, const TrackedFd& s) -> Task<restrack::Datagram> {
        co_return co_await restrack::sock_recvfrom(l, s, 1500);
      }(loop, receiver));
  const std::size_t sent = co_await restrack::sock_sendto(loop, sender, "datagram", to);
  EXPECT_EQ(sent, 8u);
  co_return co_await receiving;
}

TEST_F(SocketTest, SendtoAndRecvfromCarryADatagramAndItsSender) {
  TrackedFd receiver = restrack::open_socket(AF_INET, SOCK_DGRAM);
  TrackedFd sender = restrack::open_socket(AF_INET, SOCK_DGRAM);
  const SocketAddress any_port = SocketAddress::ipv4("127.0.0.1", 0);
  ASSERT_EQ(::bind(receiver.get(), any_port.get(), any_port.length()), 0);
  ASSERT_EQ(::bind(sender.get(), any_port.get(), any_port.length()), 0);
  const restrack::Datagram datagram = loop.run_until_complete(
      udp_exchange(loop, receiver, sender, restrack::local_address(receiver)));
  EXPECT_EQ(datagram.data, "datagram");
  EXPECT_EQ(datagram.sender.to_string(), restrack::local_address(sender).to_string());
  receiver.close();
  sender.close();
}

TEST(SocketAddressTest, FormatsEachFamily) {
  EXPECT_EQ(SocketAddress::ipv4("10.1.2.3", 80).to_string(), "10.1.2.3:80");
  EXPECT_EQ(SocketAddress::ipv6("::1", 443).to_string(), "[::1]:443");
  EXPECT_EQ(SocketAddress::unix_path("/run/x.sock").to_string(), "unix /run/x.sock");
  EXPECT_THROW(SocketAddress::ipv4("localhost", 1), std::invalid_argument);
}

}  // namespace
}  // namespace restrack_test
