// Subprocesses on the platform's backend (io_uring on Linux, IOCP on Windows) with real
// children: rules 28-31, section F's unclosed subprocess, spawn errors, arguments, the
// environment and the working directory, and the streams' Process. The child is
// restrack_test_child (test_child.cc), the same program on both platforms, so the tests
// are the same too; what the platform decides (error texts, the child's path) comes from
// test_platform.h.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "recording_subprocess.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/subprocess.h"
#include "test_platform.h"
#include "transport_fixture.h"
#include "transport_loop_fixture.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::SubprocessTransport;
using restrack::Task;
using Events = std::vector<std::string>;

// What returncode() says of a child ended by kill(): -SIGKILL on Linux; on Windows, which
// has no signals, restrack reports the same for a child it ended with TerminateProcess.
constexpr int kKilled = -9;
constexpr int kTerminated = -15;

// Rule 29 for a child that wrote nothing: connection_made first, connection_lost once and
// last, and in between each pipe's lost call and process_exited once each, in the order
// the pipes and the exit happened to close.
void expect_closed_after_made(const Events& events) {
  ASSERT_EQ(events.size(), 6u) << testing::PrintToString(events);
  EXPECT_EQ(events.front(), "made");
  EXPECT_EQ(events.back(), "lost");
  const Events between{"pipe lost 0", "pipe lost 1", "pipe lost 2", "exited"};
  EXPECT_TRUE(std::is_permutation(events.begin() + 1, events.end() - 1, between.begin()))
      << testing::PrintToString(events);
}

class SubprocessTest : public TransportTest {
 protected:
  // The child program with `commands` (test_child.cc).
  static std::vector<std::string> child(std::vector<std::string> commands) {
    commands.insert(commands.begin(), test_child_path());
    return commands;
  }

  // Waits for the child's exit through the transport's wait().
  int wait_for(std::shared_ptr<SubprocessTransport> transport) {
    return loop.run_until_complete([](std::shared_ptr<SubprocessTransport> t) -> Task<int> {
      co_return co_await t->wait();
    }(std::move(transport)));
  }
};

TEST_F(SubprocessTest, Rule29ConnectionLostOnceAfterTheExitAndEveryPipeWithDataBeforeItsLost) {
  auto protocol = std::make_shared<RecordingSubprocess>();
  restrack::SubprocessOptions options;
  options.stdin_mode = restrack::Stdio::devnull;
  auto transport = loop.run_until_complete(restrack::subprocess_exec(
      loop, [&] { return protocol; }, child({"out", "out\n", "err", "err\n", "exit", "3"}),
      options));
  run_until([&] { return !protocol->events.empty() && protocol->events.back() == "lost"; });
  run_a_little();
  const Events& events = protocol->events;
  auto at = [&](const std::string& event) {
    return std::find(events.begin(), events.end(), event) - events.begin();
  };
  EXPECT_EQ(events.size(), 7u) << testing::PrintToString(events);
  EXPECT_EQ(events.front(), "made");
  EXPECT_EQ(std::count(events.begin(), events.end(), "lost"), 1);
  EXPECT_EQ(events.back(), "lost");
  EXPECT_LT(at("data 1 out\n"), at("pipe lost 1"));
  EXPECT_LT(at("data 2 err\n"), at("pipe lost 2"));
  EXPECT_LT(at("exited"), at("lost"));
  EXPECT_EQ(transport->returncode(), 3);
  transport->close();
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(SubprocessTest, Rule30ExitWaitersAreWokenEvenWhenSetupFailsAndACancelledWaitBreaksNothing) {
  auto protocol = std::make_shared<RecordingSubprocess>();
  std::vector<restrack::Future<int>> waits;
  protocol->on_made = [&](SubprocessTransport& transport) {
    waits.push_back(transport.wait());
    waits.push_back(transport.wait());
    EXPECT_TRUE(waits[1].cancel());  // a cancelled wait breaks nothing
    throw std::runtime_error("setup failed");
  };
  EXPECT_THROW(loop.run_until_complete(restrack::subprocess_exec(
                   loop, [&] { return protocol; }, child({"sleep", "10000"}))),
               std::runtime_error);
  ASSERT_EQ(waits.size(), 2u);
  run_until([&] { return waits[0].done(); });
  EXPECT_EQ(waits[0].take_result(), kKilled);  // rule 31: the failed setup closed (killed) it
  EXPECT_TRUE(waits[1].cancelled());
  run_until([&] { return protocol->events.back() == "lost"; });
  expect_closed_after_made(protocol->events);
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(SubprocessTest, Rule31CloseIsIdempotentAndKillsOnlyARunningChild) {
  auto sleeping = loop.run_until_complete(restrack::subprocess_exec(
      loop, [] { return std::make_shared<RecordingSubprocess>(); }, child({"sleep", "10000"})));
  sleeping->close();
  sleeping->close();
  EXPECT_TRUE(sleeping->is_closing());
  EXPECT_EQ(wait_for(sleeping), kKilled);

  auto finished = loop.run_until_complete(restrack::subprocess_exec(
      loop, [] { return std::make_shared<RecordingSubprocess>(); }, child({})));
  EXPECT_EQ(wait_for(finished), 0);
  finished->close();  // exited: nothing to kill
  EXPECT_EQ(finished->returncode(), 0);
  run_a_little();
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(SubprocessTest, TerminateReportsItsSignalAndDoesNothingOnceReaped) {
  auto protocol = std::make_shared<RecordingSubprocess>();
  auto transport = loop.run_until_complete(restrack::subprocess_exec(
      loop, [&] { return protocol; }, child({"sleep", "10000"})));
  transport->terminate();
  EXPECT_EQ(wait_for(transport), kTerminated);
  transport->kill();  // reaped: does nothing
  EXPECT_EQ(transport->returncode(), kTerminated);
  run_until([&] { return protocol->events.back() == "lost"; });
  expect_closed_after_made(protocol->events);
  transport->close();
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(SubprocessTest, UnclosedSubprocessWarnsThenKillsAndReapsTheChild) {
  auto transport = loop.run_until_complete(restrack::subprocess_exec(
      loop, [] { return std::make_shared<RecordingSubprocess>(); }, child({"sleep", "10000"})));
  const int pid = transport->pid();
  transport.reset();  // forgot close()
  EXPECT_EQ(diagnostics.unclosed(),
            (std::vector<std::string>{"subprocess <subprocess pid=" + std::to_string(pid) +
                                      " running " + test_child_path() + ">"}));
  EXPECT_TRUE(no_child_left());  // killed and reaped, no zombie
  run_a_little();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
}

TEST_F(SubprocessTest, SpawnErrorsNameTheirCauseAndLeaveNoPipeAndNoChild) {
  const int descriptors = open_descriptor_count();
  auto factory = [] { return std::make_shared<RecordingSubprocess>(); };
  try {
    static_cast<void>(restrack::subprocess_exec(loop, factory, {}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "subprocess_exec: argv is empty");
  }
  try {
    static_cast<void>(restrack::subprocess_exec(loop, factory, {"/no/such/program"}));
    FAIL() << "expected a missing program";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), kNoSuchProgramError);
    EXPECT_EQ(std::string(error.what()),
              "subprocess_exec: cannot run /no/such/program: " + no_such_program_text());
  }
  restrack::SubprocessOptions options;
  options.cwd = "/no/such/directory";
  try {
    static_cast<void>(restrack::subprocess_exec(loop, factory, child({}), options));
    FAIL() << "expected a missing directory";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), kNoSuchDirectoryError);
    EXPECT_EQ(std::string(error.what()),
              "subprocess_exec: working directory /no/such/directory: " + no_such_directory_text());
  }
  EXPECT_EQ(open_descriptor_count(), descriptors);
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

Task<std::string> output_of(EventLoop& loop, std::vector<std::string> argv,
                            restrack::SubprocessOptions options) {
  options.stdin_mode = restrack::Stdio::devnull;
  restrack::Process process = co_await restrack::create_subprocess_exec(loop, argv, options);
  auto [output, errors] = co_await process.communicate("");
  EXPECT_EQ(errors, "");
  EXPECT_EQ(process.returncode(), 0);
  co_return output;
}

// Every argument arrives as it was given: on Windows the command line is quoted so that the
// child's C runtime (and CommandLineToArgvW) splits it back into the same arguments.
TEST_F(SubprocessTest, ArgumentsArriveIntactWithBlanksQuotesBackslashesAndNothing) {
  const std::vector<std::string> arguments{
      "plain",      "",         "two words",   "tab\there",        "line\nbreak",
      "\"quoted\"", "in\"side", "back\\slash", "trailing\\",       "\\\"",
      "two\\\\",    "\\\\\"x",  "   ",         "\xC3\xA9t\xC3\xA9"};
  std::vector<std::string> argv = child({"args"});
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::string expected;
  for (const std::string& argument : arguments) expected += "<" + argument + ">\n";
  EXPECT_EQ(loop.run_until_complete(output_of(loop, argv, {})), expected);
  run_a_little();
  EXPECT_TRUE(no_child_left());
}

TEST_F(SubprocessTest, EnvironmentAndWorkingDirectoryAreTheOptions) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / "restrack-subprocess-cwd";
  std::filesystem::create_directories(directory);
  restrack::SubprocessOptions options;
  options.cwd = directory.string();
  options.env = std::vector<std::string>{"RESTRACK_TEST=one value"};
  EXPECT_EQ(loop.run_until_complete(output_of(
                loop, child({"env", "RESTRACK_TEST", "env", "RESTRACK_UNSET", "cwd"}), options)),
            "one value\nunset\nrestrack-subprocess-cwd\n");
  std::filesystem::remove(directory);
  run_a_little();
  EXPECT_TRUE(no_child_left());
}

Task<std::pair<std::string, std::string>> communicate_with_echo(EventLoop& loop,
                                                                std::vector<std::string> argv,
                                                                std::string input) {
  restrack::Process process = co_await restrack::create_subprocess_exec(loop, argv);
  auto output = co_await process.communicate(std::move(input));
  EXPECT_EQ(process.returncode(), 0);
  co_return output;
}

TEST_F(SubprocessTest, CreateSubprocessExecCommunicatesThroughItsPipes) {
  EXPECT_EQ(loop.run_until_complete(communicate_with_echo(loop, child({"echo"}), "hello, child")),
            (std::pair<std::string, std::string>{"hello, child", ""}));
  run_a_little();
  EXPECT_TRUE(no_child_left());
  EXPECT_TRUE(diagnostics.recorded().empty());
}

// Far more than twice a reader's limit (64 KiB): backpressure must not stall the read to
// end-of-file that communicate() waits on.
TEST_F(SubprocessTest, CommunicateReturnsOutputOfManyTimesTheReadersLimit) {
  std::string input(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 26);
  const auto [output, errors] =
      loop.run_until_complete(communicate_with_echo(loop, child({"echo"}), input));
  EXPECT_EQ(output.size(), input.size());
  EXPECT_TRUE(output == input);
  EXPECT_EQ(errors, "");
  run_a_little();
  EXPECT_TRUE(no_child_left());
}

Task<std::string> merged_output(EventLoop& loop, std::vector<std::string> argv) {
  restrack::SubprocessOptions options;
  options.stdin_mode = restrack::Stdio::devnull;
  options.stderr_mode = restrack::Stdio::same_as_stdout;
  restrack::Process process = co_await restrack::create_subprocess_exec(loop, argv, options);
  EXPECT_EQ(process.stdin_stream(), nullptr);
  EXPECT_EQ(process.stderr_stream(), nullptr);
  std::string output = co_await process.stdout_stream()->read();
  co_await process.wait();
  co_return output;
}

TEST_F(SubprocessTest, StderrMergedIntoStdoutArrivesOnStdout) {
  EXPECT_EQ(loop.run_until_complete(merged_output(loop, child({"out", "out\n", "err", "err\n"}))),
            "out\nerr\n");
  run_a_little();
  EXPECT_TRUE(no_child_left());
}

}  // namespace
}  // namespace restrack_test
