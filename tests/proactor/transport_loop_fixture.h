// Test-only: a real loop (io_uring on Linux, IOCP on Windows) for the transport tests, an
// echo protocol, a line-echoing stream handler and an echo round trip (transport_test.cc,
// transport_pipe_test.cc, transport_posix_test.cc, subprocess_test.cc).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"
#include "transport_fixture.h"

namespace restrack_test {

// Echoes what it receives; closes at end-of-file.
class Echo final : public restrack::StreamProtocol {
 public:
  void connection_made(restrack::StreamTransport& made) override { transport = &made; }
  void data_received(std::string_view data) override { transport->write(data); }
  restrack::StreamTransport* transport = nullptr;
};

// A stream server's handler: echoes line by line until end-of-file, then closes.
inline restrack::Task<void> echo_lines(restrack::StreamReader reader,
                                       restrack::StreamWriter writer) {
  while (true) {
    std::string line = co_await reader.read_line();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
}

class TransportTest : public testing::Test {
 protected:
  TransportTest() {
    loop.set_exception_handler(
        [this](restrack::EventLoop&, const restrack::ExceptionContext& context) {
          handled.push_back(std::string(context.message) + describe_error(context.exception));
        });
  }
  ~TransportTest() override {
    if (!loop.is_closed()) loop.close();
  }

  // Runs the loop until `done` holds (no time limit: ctest's timeout is the backstop).
  template <class Predicate>
  void run_until(Predicate done) {
    while (!done()) {
      loop.call_later(std::chrono::milliseconds(1), [this] { loop.stop(); });
      loop.run_forever();
    }
  }
  void run_a_little(int iterations = 5) {
    for (int i = 0; i < iterations; ++i) {
      loop.call_later(std::chrono::milliseconds(1), [this] { loop.stop(); });
      loop.run_forever();
    }
  }

  DiagnosticRecorder diagnostics;
  restrack::EventLoop loop;
  std::vector<std::string> handled;
};

// Connects a RecordingProtocol client to `address`, sends "ping", and closes once the echo
// is back.
inline void expect_echo(restrack::EventLoop& loop, const restrack::SocketAddress& address) {
  auto client = std::make_shared<RecordingProtocol>();
  client->on_made = [](restrack::StreamTransport& transport) { transport.write("ping"); };
  client->on_data = [](restrack::StreamTransport& transport, std::string_view) {
    transport.close();
  };
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [client] { return client; }, address));
  while (client->events.size() < 3) {
    loop.call_later(std::chrono::milliseconds(1), [&loop] { loop.stop(); });
    loop.run_forever();
  }
  EXPECT_EQ(client->events, (std::vector<std::string>{"made", "data ping", "lost"}));
}

}  // namespace restrack_test
