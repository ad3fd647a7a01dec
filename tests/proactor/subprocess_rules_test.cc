// Rule 28 on the scripted backend with a real child (restrack_test_child): a child that
// exits, and whose output ends, before the task that spawned it has even started. The
// same on both platforms; the rest of part E is in subprocess_test.cc.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "recording_subprocess.h"
#include "restrack/proactor/subprocess.h"
#include "test_platform.h"
#include "transport_fixture.h"

namespace restrack_test {
namespace {

using restrack::Task;
using restrack::internal::OperationKey;
using restrack::internal::OperationType;
using Events = std::vector<std::string>;

class SubprocessRulesTest : public TransportRulesTest {
 protected:
  // The newest read of a pipe in flight: recv on POSIX, read (ReadFile) on Windows.
  OperationKey pipe_read_in_flight() {
    const auto& submitted = fake.observations().submitted;
    for (auto key = submitted.rbegin(); key != submitted.rend(); ++key) {
      if (const auto* operation = fake.find(*key);
          operation != nullptr &&
          (operation->type == OperationType::recv || operation->type == OperationType::read)) {
        return *key;
      }
    }
    ADD_FAILURE() << "no pipe read in flight";
    return restrack::internal::kNoOperation;
  }
};

TEST_F(SubprocessRulesTest, Rule28SubprocessThatExitsBeforeItsPipesAreConnected) {
  auto subprocess = std::make_shared<RecordingSubprocess>();
  restrack::SubprocessOptions options;
  options.stdin_mode = restrack::Stdio::devnull;
  options.stderr_mode = restrack::Stdio::devnull;
  Task<std::shared_ptr<restrack::SubprocessTransport>> spawning = restrack::subprocess_exec(
      loop, [&] { return subprocess; }, {test_child_path(), "out", "out"}, options);
  const OperationKey wait = in_flight(OperationType::wait_process);
  const OperationKey receive = pipe_read_in_flight();
  // The child has exited before anything ran on the loop.
  ASSERT_TRUE(wait_for_exit(fake.find(wait)->handle));
  complete_recv(receive, "out");
  fake.complete(wait, 1);
  run_one_iteration();  // the output and the exit arrive; the task has not even started
  fake.complete(pipe_read_in_flight(), 0);  // end of the output
  run_iterations(2);                        // the pipe closes too: all of it before connection_made
  auto transport = loop.run_until_complete(spawning);
  run_iterations(2);
  EXPECT_EQ(subprocess->events, (Events{"made", "data 1 out", "exited", "pipe lost 1", "lost"}));
  EXPECT_EQ(transport->returncode(), 0);
  transport->close();
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
