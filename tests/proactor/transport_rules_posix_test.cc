// PROACTOR_RULES.md on the scripted backend, for what is POSIX only so far: connect_pipe's
// busy retry (rules 17, 18). The rest of part D is in transport_rules_test.cc, rule 28 in
// subprocess_rules_test.cc.
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "pipe_retry.h"
#include "restrack/live.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/pipe.h"
#include "restrack/proactor/transport.h"
#include "test_platform.h"
#include "transport_fixture.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::CancelledError;
using restrack::StreamTransport;
using restrack::Task;
using restrack::internal::OperationType;
using Events = std::vector<std::string>;

// Threads of this process (rule 18: nobody parks one in a connect).
int thread_count() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count;
}

// --- connect_pipe (rules 17, 18) ---

class ConnectPipeRetryTest : public TransportRulesTest {
 protected:
  ConnectPipeRetryTest() {
    restrack::internal::set_pipe_retry_observer(
        [this](std::chrono::milliseconds delay, const restrack::Future<void>& sleep) {
          delays.push_back(delay.count());
          sleeps.push_back(sleep);
        });
  }
  ~ConnectPipeRetryTest() override { restrack::internal::set_pipe_retry_observer(nullptr); }

  std::vector<long> delays;
  std::vector<restrack::Future<void>> sleeps;
};

TEST_F(ConnectPipeRetryTest, Rule17BusyEightTimesSleepsOneTwoFourUpToOneHundredMilliseconds) {
  const int threads = thread_count();
  for (int i = 0; i < 8; ++i) fake.script_next(FakeBackend::Start::failed_at_once, -EAGAIN);
  fake.script_next(FakeBackend::Start::done_at_once, 0);
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [this] { return protocol; }, "/tmp/restrack-busy.sock"));
  EXPECT_EQ(delays, (std::vector<long>{1, 2, 4, 8, 16, 32, 64, 100}));
  EXPECT_EQ(protocol->events, (Events{"made"}));
  // Rule 18: nine connects, each on a non-blocking socket, and no thread was started.
  const auto& types = fake.observations().submitted_types;
  EXPECT_EQ(std::count(types.begin(), types.end(), OperationType::connect), 9);
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i] == OperationType::connect) {
      EXPECT_TRUE(fake.observations().submitted_nonblocking[i]);
    }
  }
  EXPECT_EQ(thread_count(), threads);
  transport->close();
  run_iterations(2);
}

TEST_F(ConnectPipeRetryTest, Rule17CancellingTheConnectMidSleepCancelsTheTimerAndLeaksNothing) {
  const int descriptors = open_descriptor_count();
  const restrack::Snapshot before = restrack::Snapshot::take();
  for (int i = 0; i < 3; ++i) fake.script_next(FakeBackend::Start::failed_at_once, -EAGAIN);
  Task<std::shared_ptr<StreamTransport>> connecting = loop.create_task(restrack::connect_pipe(
      loop, [this] { return protocol; }, "/tmp/restrack-busy.sock"));
  while (sleeps.size() < 2) run_one_iteration();
  connecting.cancel();
  EXPECT_THROW(loop.run_until_complete(connecting), CancelledError);
  EXPECT_EQ(delays, (std::vector<long>{1, 2}));
  EXPECT_TRUE(sleeps.back().cancelled());  // its timer is cancelled with it
  EXPECT_EQ(open_descriptor_count(), descriptors);
  EXPECT_TRUE(before.opened_since().empty());
  EXPECT_TRUE(protocol->events.empty());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(ConnectPipeRetryTest, Rule17AnyOtherErrorFailsAtOnceWithoutRetrying) {
  fake.script_next(FakeBackend::Start::failed_at_once, -ECONNREFUSED);
  try {
    loop.run_until_complete(restrack::connect_pipe(
        loop, [this] { return protocol; }, "/tmp/restrack-refused.sock"));
    FAIL() << "expected ECONNREFUSED";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ECONNREFUSED);
  }
  EXPECT_TRUE(delays.empty());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
