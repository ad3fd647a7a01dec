// Test-only (Windows): an event loop on a real IOCP backend that the test can reach
// (iocp_backend_test.cc, iocp_pipe_test.cc).
#pragma once

#include <chrono>
#include <memory>
#include <utility>

#include <gtest/gtest.h>

#include "iocp_backend.h"
#include "restrack/proactor/event_loop.h"

namespace restrack_test {

class IocpLoopTest : public testing::Test {
 protected:
  IocpLoopTest()
      : owned_backend_(std::make_unique<restrack::internal::IocpBackend>(restrack::IocpOptions{})),
        backend(*owned_backend_),
        loop(std::move(owned_backend_)) {}
  ~IocpLoopTest() override {
    if (!loop.is_closed()) loop.close();
  }

  void run_one_iteration() {
    loop.stop();
    loop.run_forever();
  }
  // Runs iterations until `finished` holds; fails the test after 5 s.
  template <class Predicate>
  void run_until(Predicate finished) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!finished()) {
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "timed out";
        return;
      }
      loop.call_later(std::chrono::milliseconds(10), [] {});
      run_one_iteration();
    }
  }

 private:
  std::unique_ptr<restrack::internal::IocpBackend> owned_backend_;

 protected:
  restrack::internal::IocpBackend& backend;
  restrack::EventLoop loop;
};

}  // namespace restrack_test
