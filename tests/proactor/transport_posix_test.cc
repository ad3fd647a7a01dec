// Transports, servers and pipes on real io_uring: AF_UNIX paths (in a per-test temporary
// directory) and what only POSIX pipe servers have (socket files, a listen backlog), POSIX
// only. The TCP and UDP tests, which run on Windows too, are in transport_test.cc; the
// pipe tests that do, in transport_pipe_test.cc; the subprocess tests in
// subprocess_test.cc.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "pipe_retry.h"
#include "restrack/live.h"
#include "restrack/proactor/pipe.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/transport.h"
#include "test_platform.h"
#include "transport_fixture.h"
#include "transport_loop_fixture.h"

namespace restrack_test {
namespace {

using restrack::SocketAddress;
using restrack::StreamTransport;
using Events = std::vector<std::string>;

// TransportTest with a temporary directory for socket paths.
class TransportPosixTest : public TransportTest {
 protected:
  TransportPosixTest() {
    char pattern[] = "/tmp/restrack-transport-XXXXXX";
    directory = ::mkdtemp(pattern);
  }
  ~TransportPosixTest() override {
    if (!loop.is_closed()) loop.close();
    std::string command = "rm -rf " + directory;
    static_cast<void>(std::system(command.c_str()));
  }

  std::string path(const std::string& name) const { return directory + "/" + name; }

  std::string directory;
};

TEST_F(TransportPosixTest, UnixConnectionEchoesThroughAServer) {
  restrack::Server server = restrack::create_server(
      loop, [] { return std::make_shared<Echo>(); }, SocketAddress::unix_path(path("unix.sock")));
  expect_echo(loop, SocketAddress::unix_path(path("unix.sock")));
  server.close();
}

TEST_F(TransportPosixTest, Rule14StaleSocketFileOfADeadServerDoesNotBlockANewServer) {
  const std::string name = path("stale.sock");
  {
    // A server that died: its socket file stays, nobody accepts on it.
    const int dead = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const SocketAddress address = SocketAddress::unix_path(name);
    ASSERT_EQ(::bind(dead, address.get(), address.length()), 0);
    ASSERT_EQ(::listen(dead, 1), 0);
    ::close(dead);
  }
  struct stat info {};
  ASSERT_EQ(::lstat(name.c_str(), &info), 0);
  restrack::Server server = restrack::create_pipe_server(
      loop, [] { return std::make_shared<Echo>(); }, name);
  expect_echo(loop, SocketAddress::unix_path(name));
  server.close();
}

TEST_F(TransportPosixTest, Rule14PathThatIsNotASocketIsNeverRemoved) {
  const std::string name = path("file");
  ::close(::open(name.c_str(), O_CREAT | O_WRONLY, 0600));
  EXPECT_THROW(restrack::create_pipe_server(
                   loop, [] { return std::make_shared<Echo>(); }, name),
               std::system_error);
  struct stat info {};
  EXPECT_EQ(::lstat(name.c_str(), &info), 0);
}

TEST_F(TransportPosixTest, Rule17ConnectPipeRetriesAFullBacklogUntilTheServerAccepts) {
  const std::string name = path("busy.sock");
  // A server that is busy: backlog 0 and one connection already waiting in it.
  restrack::Socket listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
                            restrack::kinds::socket);
  const SocketAddress address = SocketAddress::unix_path(name);
  ASSERT_EQ(::bind(listener.get(), address.get(), address.length()), 0);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  restrack::Socket filler = restrack::open_socket(AF_UNIX, SOCK_STREAM);
  ASSERT_EQ(::connect(filler.get(), address.get(), address.length()), 0);
  std::vector<long> delays;
  restrack::Socket accepted;
  restrack::internal::set_pipe_retry_observer(
      [&](std::chrono::milliseconds delay, const restrack::Future<void>&) {
        delays.push_back(delay.count());
        // After the third busy answer the server takes the waiting connection.
        if (delays.size() == 3)
          accepted = restrack::Socket(::accept(listener.get(), nullptr, nullptr));
      });
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [client] { return client; }, name));
  restrack::internal::set_pipe_retry_observer(nullptr);
  EXPECT_EQ(delays, (std::vector<long>{1, 2, 4}));
  EXPECT_EQ(client->events, (Events{"made"}));
  transport->close();
  run_until([&] { return client->events.size() == 2; });
  accepted.close();
  filler.close();
  listener.close();
}

// --- Direct transfers (stream_transport.h): non-blocking calls before operations ---

// A deterministic stream of `size` bytes: 0, 1, ..., 250, 0, 1, ...
std::string pattern_of(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i % 251);
  return bytes;
}

// Everything `socket` can give without blocking.
std::string drain_now(int socket) {
  std::string received;
  char buffer[65536];
  while (true) {
    const ssize_t count = ::recv(socket, buffer, sizeof buffer, MSG_DONTWAIT);
    if (count <= 0) return received;
    received.append(buffer, static_cast<std::size_t>(count));
  }
}

TEST_F(TransportPosixTest, Rule25DirectWriteSendsWhatTheKernelTakesAndBuffersExactlyTheRest) {
  restrack::Socket listener = restrack::listen_on(SocketAddress::unix_path(path("direct.sock")));
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  restrack::Socket peer(::accept(listener.get(), nullptr, nullptr), restrack::kinds::socket);
  const int small = 16384;
  ASSERT_EQ(::setsockopt(transport->native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small),
            0);

  const std::string data = pattern_of(std::size_t{1} << 20);
  transport->write(data);
  // The loop has not run: the peer holds exactly what the direct send took.
  const std::size_t buffered = transport->write_buffer_size();
  std::string received = drain_now(peer.get());
  EXPECT_GT(received.size(), 0u);
  EXPECT_GT(buffered, 0u);
  EXPECT_EQ(received.size() + buffered, data.size());
  EXPECT_EQ(client->events, (Events{"made", "pause"}));

  // Queued behind the send in flight, never sent before it (rule 26: short sends resumed).
  transport->write("tail");
  EXPECT_EQ(transport->write_buffer_size(), buffered + 4);
  run_until([&] {
    received += drain_now(peer.get());
    return received.size() >= data.size() + 4;
  });
  EXPECT_TRUE(received == data + "tail");
  EXPECT_EQ(transport->write_buffer_size(), 0u);
  EXPECT_EQ(client->events, (Events{"made", "pause", "resume"}));
  transport->close();
  run_until([&] { return client->events.size() == 4; });
  listener.close();
}

TEST_F(TransportPosixTest, SmallWriteIsCopiedAndSentByAnOperationNotDirectly) {
  restrack::Socket listener = restrack::listen_on(SocketAddress::unix_path(path("small.sock")));
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  restrack::Socket peer(::accept(listener.get(), nullptr, nullptr), restrack::kinds::socket);
  // Below kDirectSendMinimum (16 KiB): the send waits for the loop, batched with the others.
  const std::string data = pattern_of((std::size_t{16} << 10) - 1);
  transport->write(data);
  EXPECT_EQ(transport->write_buffer_size(), data.size());
  EXPECT_EQ(drain_now(peer.get()).size(), 0u);
  std::string received;
  run_until([&] {
    received += drain_now(peer.get());
    return received.size() >= data.size();
  });
  EXPECT_TRUE(received == data);
  EXPECT_EQ(transport->write_buffer_size(), 0u);
  transport->close();
  run_until([&] { return client->events.size() == 2; });
  EXPECT_EQ(client->events, (Events{"made", "lost"}));
  listener.close();
}

// Counts deliveries and keeps the bytes; pauses reading at the first delivery when asked.
class CollectingProtocol final : public restrack::StreamProtocol {
 public:
  void connection_made(StreamTransport& made) override { transport = &made; }
  void data_received(std::string_view data) override {
    ++deliveries;
    bytes.append(data);
    if (pause_at_first && deliveries == 1) transport->pause_reading();
  }
  StreamTransport* transport = nullptr;
  bool pause_at_first = false;
  int deliveries = 0;
  std::string bytes;
};

TEST_F(TransportPosixTest, Rule24DirectReadsStopWhenTheProtocolPausesAndTheStreamArrivesInOrder) {
  restrack::Socket listener = restrack::listen_on(SocketAddress::unix_path(path("reads.sock")));
  auto client = std::make_shared<CollectingProtocol>();
  client->pause_at_first = true;
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, restrack::local_address(listener)));
  restrack::Socket peer(::accept(listener.get(), nullptr, nullptr), restrack::kinds::socket);
  // Several receive buffers' worth (64 KiB each) waits before the first receive completes.
  const std::string data = pattern_of(std::size_t{160} << 10);
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t count = ::send(peer.get(), data.data() + sent, data.size() - sent, 0);
    ASSERT_GT(count, 0);
    sent += static_cast<std::size_t>(count);
    if (sent >= std::size_t{128} << 10) break;  // the rest once the reader is paused
  }
  run_until([&] { return client->deliveries >= 1; });
  run_a_little();
  // Paused inside the first delivery of a full buffer: nothing more was read directly.
  EXPECT_EQ(client->deliveries, 1);
  EXPECT_EQ(client->bytes.size(), std::size_t{64} << 10);
  while (sent < data.size()) {
    const ssize_t count = ::send(peer.get(), data.data() + sent, data.size() - sent, 0);
    ASSERT_GT(count, 0);
    sent += static_cast<std::size_t>(count);
  }
  transport->resume_reading();
  run_until([&] { return client->bytes.size() == data.size(); });
  EXPECT_TRUE(client->bytes == data);
  transport->close();
  run_a_little();
  listener.close();
}

}  // namespace
}  // namespace restrack_test
