// Test-only fixtures: an EventLoop on the scripted backend, and connected socket pairs.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "fake_backend.h"
#include "restrack/kind.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"
#include "test_platform.h"

namespace restrack_test {

// An EventLoop driven by a FakeBackend the test scripts through `fake`.
class FakeLoopTest : public testing::Test {
 protected:
  explicit FakeLoopTest(restrack::EventLoopOptions options = {})
      : owned_backend_(std::make_unique<FakeBackend>(std::chrono::milliseconds(1000))),
        fake(*owned_backend_),
        loop(std::move(owned_backend_), options) {}
  ~FakeLoopTest() override {
    if (!loop.is_closed()) loop.close();
  }

 private:
  std::unique_ptr<FakeBackend> owned_backend_;

 protected:
  FakeBackend& fake;
  restrack::EventLoop loop;
};

// Two connected sockets (stream by default), tracked as kind `socket` and closed when the
// pair goes out of scope: AF_UNIX on POSIX, loopback on Windows (test_platform.h).
struct SocketPair {
  explicit SocketPair(int type = SOCK_STREAM) { make_socket_pair(type, first, second); }
  ~SocketPair() {
    if (first) first.close();
    if (second) second.close();
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;

  restrack::Socket first;
  restrack::Socket second;
};

}  // namespace restrack_test
