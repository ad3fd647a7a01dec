// Pipe servers, connect_pipe and the pipe streams on the platform's backend, with the same
// expectations on both: an AF_UNIX path on Linux (io_uring), a named pipe on Windows (IOCP;
// under Wine in CI). Names come from unique_pipe_name() (test_platform.h). What only one
// platform has — stale socket files, a full listen backlog, a named pipe whose instances are
// all taken — is in transport_posix_test.cc and iocp_pipe_test.cc.
#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "pipe_retry.h"
#include "restrack/live.h"
#include "restrack/proactor/pipe.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/transport.h"
#include "test_platform.h"
#include "transport_fixture.h"
#include "transport_loop_fixture.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::StreamTransport;
using restrack::Task;
using Events = std::vector<std::string>;

class TransportPipeTest : public TransportTest {
 protected:
  // Connects a client that sends "ping" and closes once the echo is back.
  void expect_pipe_echo(const std::string& name) {
    auto client = std::make_shared<RecordingProtocol>();
    client->on_made = [](StreamTransport& transport) { transport.write("ping"); };
    client->on_data = [](StreamTransport& transport, std::string_view) { transport.close(); };
    auto transport = loop.run_until_complete(restrack::connect_pipe(
        loop, [client] { return client; }, name));
    run_until([&] { return client->events.size() == 3; });
    EXPECT_EQ(client->events, (Events{"made", "data ping", "lost"}));
  }

  // The errno value connect_pipe fails with (0 if it connects), and the retry sleeps it took.
  int connect_error(const std::string& name, std::vector<long long>& delays) {
    restrack::internal::set_pipe_retry_observer(
        [&](std::chrono::milliseconds delay, const restrack::Future<void>&) {
          delays.push_back(delay.count());
        });
    int error = 0;
    try {
      auto transport = loop.run_until_complete(restrack::connect_pipe(
          loop, [] { return std::make_shared<Echo>(); }, name));
      transport->close();
    } catch (const std::system_error& failure) {
      error = failure.code().value();
    }
    restrack::internal::set_pipe_retry_observer(nullptr);
    return error;
  }
};

TEST_F(TransportPipeTest, PipeConnectionEchoesThroughAPipeServer) {
  const std::string name = unique_pipe_name("app.sock");
  restrack::Server server = restrack::create_pipe_server(
      loop, [] { return std::make_shared<Echo>(); }, name);
  expect_pipe_echo(name);
  run_until([&] { return server.connection_count() == 0; });
  server.close();
  // Closing gave the name up: POSIX removed the socket file; on Windows its last
  // instance is closed.
  std::vector<long long> delays;
  EXPECT_EQ(connect_error(name, delays), ENOENT);
  EXPECT_TRUE(delays.empty());
}

TEST_F(TransportPipeTest, Rule14SecondServerOnAServedPipeNameFailsClearly) {
  const std::string name = unique_pipe_name("owned.sock");
  restrack::Server first = restrack::create_pipe_server(
      loop, [] { return std::make_shared<Echo>(); }, name);
  try {
    restrack::create_pipe_server(
        loop, [] { return std::make_shared<Echo>(); }, name);
    FAIL() << "expected PipeNameInUseError";
  } catch (const restrack::PipeNameInUseError& error) {
    EXPECT_EQ(std::string(error.what()),
              "pipe server " + name + ": the name is already being served");
  }
  EXPECT_TRUE(first.is_serving());
  run_a_little();  // POSIX: the probe connected and left (rule 15); the server is unharmed
  EXPECT_TRUE(first.is_serving());
  expect_pipe_echo(name);
  first.close();
}

TEST_F(TransportPipeTest, Rule14EveryClientOfABurstIsServedForTheServerAlwaysHasAFreeInstance) {
  const std::string name = unique_pipe_name("burst.sock");
  restrack::Server server = restrack::create_pipe_server(
      loop, [] { return std::make_shared<Echo>(); }, name);
  std::vector<long long> delays;
  restrack::internal::set_pipe_retry_observer(
      [&](std::chrono::milliseconds delay, const restrack::Future<void>&) {
        delays.push_back(delay.count());
      });
  std::vector<std::shared_ptr<RecordingProtocol>> clients;
  std::vector<Task<std::shared_ptr<StreamTransport>>> connecting;
  for (int i = 0; i < 5; ++i) {
    auto client = std::make_shared<RecordingProtocol>();
    clients.push_back(client);
    connecting.push_back(loop.create_task(restrack::connect_pipe(
        loop, [client] { return client; }, name)));
  }
  std::vector<std::shared_ptr<StreamTransport>> transports;
  transports.reserve(connecting.size());
  for (auto& task : connecting) transports.push_back(loop.run_until_complete(task));
  restrack::internal::set_pipe_retry_observer(nullptr);
  run_until([&] { return server.connection_count() == 5; });
  for (auto& transport : transports) transport->write("hello");
  run_until([&] {
    for (const auto& client : clients) {
      if (client->events.size() < 2) return false;
    }
    return true;
  });
  for (const auto& client : clients) EXPECT_EQ(client->events, (Events{"made", "data hello"}));
  for (auto& transport : transports) transport->close();
  run_until([&] { return server.connection_count() == 0; });
  server.close();
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(TransportPipeTest, Rule15FailingFactoryLeaksNothingAndTheServerKeepsServing) {
  const std::string name = unique_pipe_name("factory.sock");
  int calls = 0;
  restrack::Server server = restrack::create_pipe_server(
      loop,
      [&]() -> std::shared_ptr<restrack::StreamProtocol> {
        if (++calls == 1) throw std::runtime_error("no protocol for you");
        return std::make_shared<Echo>();
      },
      name);
  const int descriptors = open_descriptor_count();
  auto first = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [first] { return first; }, name));
  run_until([&] { return first->events.size() >= 3; });  // the server closed it at once
  EXPECT_EQ(first->events, (Events{"made", "eof", "lost"}));
  EXPECT_EQ(handled, (std::vector<std::string>{
                         "exception in the protocol factory of a server: no protocol for you"}));
  EXPECT_EQ(open_descriptor_count(), descriptors);
  expect_pipe_echo(name);
  EXPECT_TRUE(server.is_serving());
  server.close();
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(TransportPipeTest, Rule17ConnectPipeToAMissingNameFailsAtOnce) {
  std::vector<long long> delays;
  EXPECT_EQ(connect_error(unique_pipe_name("missing.sock"), delays), ENOENT);
  EXPECT_TRUE(delays.empty());
}

TEST_F(TransportPipeTest, ServersAreInTheLiveSetAndTheirDestructorClosesThemWithoutWarning) {
  const std::string name = unique_pipe_name("live.sock");
  {
    restrack::Server server = restrack::create_pipe_server(
        loop, [] { return std::make_shared<Echo>(); }, name);
    std::vector<std::string> servers;
    for (const restrack::ResourceInfo& resource : restrack::live_resources()) {
      if (resource.kind == "server") servers.push_back(resource.description);
    }
    EXPECT_EQ(servers,
              (std::vector<std::string>{"pipe server " + name + " serving, 0 connections"}));
  }
  run_a_little();
  EXPECT_TRUE(diagnostics.recorded().empty());
  std::vector<long long> delays;
  EXPECT_EQ(connect_error(name, delays), ENOENT);
}

// --- Streams ---

Task<std::vector<std::string>> talk(EventLoop& loop, std::string name) {
  auto [reader, writer] = co_await restrack::open_pipe_connection(loop, name);
  writer.write("one\ntwo\n");
  co_await writer.drain();
  std::vector<std::string> replies;
  replies.push_back(co_await reader.read_line());
  replies.push_back(co_await reader.read_exactly(4));
  writer.close();
  co_await writer.wait_closed();
  co_return replies;
}

TEST_F(TransportPipeTest, StreamsReadLinesAndExactCountsThroughAPipeStreamServer) {
  const std::string name = unique_pipe_name("streams.sock");
  restrack::Server server = restrack::start_pipe_server(loop, echo_lines, name);
  EXPECT_EQ(loop.run_until_complete(talk(loop, name)),
            (std::vector<std::string>{"one\n", "two\n"}));
  run_until([&] { return server.connection_count() == 0; });
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> Task<void> { co_await s.wait_closed(); }(server));
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
