// Test support: a subprocess protocol that records every callback as a line of text, for
// the subprocess tests (subprocess_test.cc, subprocess_rules_test.cc,
// subprocess_windows_test.cc).
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "restrack/proactor/subprocess.h"
#include "transport_fixture.h"

namespace restrack_test {

// Records every subprocess callback.
class RecordingSubprocess final : public restrack::SubprocessProtocol {
 public:
  void connection_made(restrack::SubprocessTransport& transport) override {
    events.push_back("made");
    if (on_made) on_made(transport);
  }
  void pipe_data_received(int fd, std::string_view data) override {
    events.push_back("data " + std::to_string(fd) + " " + std::string(data));
  }
  void pipe_connection_lost(int fd, const std::exception_ptr& error) override {
    events.push_back("pipe lost " + std::to_string(fd) + describe_error(error));
  }
  void process_exited() override { events.push_back("exited"); }
  void connection_lost(const std::exception_ptr& error) override {
    events.push_back("lost" + describe_error(error));
  }
  std::vector<std::string> events;
  std::function<void(restrack::SubprocessTransport&)> on_made;
};

}  // namespace restrack_test
