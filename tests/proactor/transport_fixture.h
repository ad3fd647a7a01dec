// Test-only: protocols that record every callback as text, and helpers that drive the
// operations of transports on the scripted backend (find the operation a transport
// submitted, fill a receive's buffer, complete it, connect at once).
#pragma once

#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/transport.h"

namespace restrack_test {

// The name of the errno values that transports end connections with (shorter than their
// texts, which read the same on every platform too); other values by strerror().
inline std::string error_name(int value) {
  switch (value) {
    case ECONNRESET:
      return "ECONNRESET";
    case ECONNABORTED:
      return "ECONNABORTED";
    case EPIPE:
      return "EPIPE";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    default:
      return std::strerror(value);
  }
}

// "" or ": <error>" for connection_lost's argument: an OS error by error_name(), any other
// exception by what().
inline std::string describe_error(const std::exception_ptr& error) {
  if (error == nullptr) return "";
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return ": " + error_name(e.code().value());
  } catch (const std::exception& e) {
    return ": " + std::string(e.what());
  } catch (...) {
    return ": unknown";
  }
}

// Records "made", "data <bytes>", "eof", "pause", "resume", "lost[: error]". Hooks let a test
// act from inside a callback.
class RecordingProtocol : public restrack::StreamProtocol {
 public:
  void connection_made(restrack::StreamTransport& made) override {
    events.push_back("made");
    transport = &made;
    if (on_made) on_made(made);
  }
  void data_received(std::string_view data) override {
    events.push_back("data " + std::string(data));
    if (on_data) on_data(*transport, data);
  }
  bool eof_received() override {
    events.push_back("eof");
    return keep_open_at_eof;
  }
  void connection_lost(const std::exception_ptr& error) override {
    events.push_back("lost" + describe_error(error));
    if (on_lost) on_lost();
  }
  void pause_writing() override {
    events.push_back("pause");
    if (on_pause) on_pause(*transport);
  }
  void resume_writing() override {
    events.push_back("resume");
    if (on_resume) on_resume(*transport);
  }

  std::vector<std::string> events;
  restrack::StreamTransport* transport = nullptr;
  bool keep_open_at_eof = false;
  std::function<void(restrack::StreamTransport&)> on_made;
  std::function<void(restrack::StreamTransport&, std::string_view)> on_data;
  std::function<void(restrack::StreamTransport&)> on_pause;
  std::function<void(restrack::StreamTransport&)> on_resume;
  std::function<void()> on_lost;
};

// A fake-backend loop with helpers for the operations transports submit.
class TransportFakeTest : public FakeLoopTest {
 protected:
  void run_one_iteration() {
    loop.stop();
    loop.run_forever();
  }
  void run_iterations(int count) {
    for (int i = 0; i < count; ++i) run_one_iteration();
  }

  // The most recently submitted operation of `type` that is still in flight.
  OperationKey in_flight(restrack::internal::OperationType type) {
    const auto& submitted = fake.observations().submitted;
    for (auto key = submitted.rbegin(); key != submitted.rend(); ++key) {
      if (Operation* operation = fake.find(*key); operation && operation->type == type) return *key;
    }
    ADD_FAILURE() << "no " << restrack::internal::to_string(type) << " in flight";
    return restrack::internal::kNoOperation;
  }

  // Completes a receive with `data` written into its buffer, as the kernel would.
  void complete_recv(OperationKey key, std::string_view data) {
    Operation* operation = fake.find(key);
    ASSERT_NE(operation, nullptr);
    ASSERT_LE(data.size(), operation->buffer.size());
    std::memcpy(operation->buffer.data(), data.data(), data.size());
    fake.complete(key, static_cast<int>(data.size()));
  }
};

// TransportFakeTest with a recorded exception handler and a connect() that completes at once.
class TransportRulesTest : public TransportFakeTest {
 protected:
  TransportRulesTest() {
    loop.set_exception_handler([this](restrack::EventLoop&, const restrack::ExceptionContext& c) {
      handled.push_back(std::string(c.message) + describe_error(c.exception));
    });
  }

  // Connects through the fake backend (the connect completes at once) and returns once
  // connection_made has returned; its first receive is then in flight.
  std::shared_ptr<restrack::StreamTransport> connect(
      const std::shared_ptr<RecordingProtocol>& recording) {
    fake.script_next(FakeBackend::Start::done_at_once, 0);
    return loop.run_until_complete(restrack::create_connection(
        loop, [recording] { return recording; }, restrack::SocketAddress::ipv4("127.0.0.1", 9)));
  }

  std::shared_ptr<RecordingProtocol> protocol = std::make_shared<RecordingProtocol>();
  std::vector<std::string> handled;  // what reached the loop's exception handler
  DiagnosticRecorder diagnostics;
};

}  // namespace restrack_test
