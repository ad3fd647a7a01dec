// Test-only: protocols that record every callback as text, and helpers that drive the
// operations of transports on the scripted backend (find the operation a transport
// submitted, fill a receive's buffer, complete it).
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "loop_fixture.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/transport.h"

namespace restrack_test {

// "lost" or "lost: <what()>" for connection_lost's argument.
inline std::string describe_error(const std::exception_ptr& error) {
  if (error == nullptr) return "";
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return ": " + std::string(std::strerror(e.code().value()));
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

// Open descriptors of this process (to prove that nothing leaked).
inline int open_descriptor_count() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count - 1;  // the directory itself
}

// Threads of this process (rule 18: nobody parks one in a connect).
inline int thread_count() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count;
}

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

}  // namespace restrack_test
