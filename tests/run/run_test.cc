// restrack-run on real programs (tests/run/programs): each test runs the built launcher
// on one in a child process and checks its exact output, exit status and reports.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Result {
  int status = -1;  // exit status; -1 if it did not exit normally
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string scratch(const std::string& name) {
  return ::testing::TempDir() + "restrack_run_" + std::to_string(::getpid()) + "_" + name;
}

std::string program(const std::string& name) {
  return std::string(RESTRACK_RUN_PROGRAMS) + "/run_" + name;
}

// Runs `arguments` with RESTRACK_OPTIONS=`options` (unset if empty), stdout and stderr
// captured, and only descriptors 0-2 open: descriptor numbers are the same wherever the
// test runs.
Result run(const std::vector<std::string>& arguments, const std::string& options = "") {
  const std::string out_path = scratch("out");
  const std::string err_path = scratch("err");
  const pid_t child = ::fork();
  if (child == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::closefrom(3);
    if (options.empty()) {
      ::unsetenv("RESTRACK_OPTIONS");
    } else {
      ::setenv("RESTRACK_OPTIONS", options.c_str(), 1);
    }
    // A program built with AddressSanitizer wants its runtime first; restrack-run's
    // library comes before it, which works (docs/restrack-run.md).
    std::string asan = "verify_asan_link_order=0";
    if (const char* existing = std::getenv("ASAN_OPTIONS"))
      asan = std::string(existing) + ":" + asan;
    ::setenv("ASAN_OPTIONS", asan.c_str(), 1);
    std::vector<char*> argv;
    argv.reserve(arguments.size() + 1);
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(126);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  Result result;
  if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return result;
}

Result run_under(const std::vector<std::string>& arguments, const std::string& options = "") {
  std::vector<std::string> command = {RESTRACK_RUN, "--"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  return run(command, options);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++found;
  }
  return found;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

constexpr const char* kLeaks = "tests/run/programs/leaks.c";

// Programs that link restrack are built with the preset's sanitizer (tests/run/CMakeLists.txt).
#if defined(RESTRACK_RUN_SANITIZED_PROGRAMS)
#define RESTRACK_RUN_SKIP_IF_SANITIZED()                                                      \
  GTEST_SKIP() << "this program carries a sanitizer runtime, which opens descriptors of its " \
                  "own through the C library; restrack-run would report them as the program's"
#else
#define RESTRACK_RUN_SKIP_IF_SANITIZED() static_cast<void>(0)
#endif

TEST(RestrackRunTest, DescriptorOfEachKindLeftOpenIsReportedAtExitWithItsTrace) {
  const Result result = run_under({program("leaks")});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out, "opened 13\n");
  // Oldest first; descriptors 0-2 are the environment's and never listed. Some entries
  // are several lines, written as adjacent literals.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  const std::string expected[] = {
      ":19: ResourceWarning: file still open at exit <fd=3 /dev/null>\n"
      "Object allocated at (most recent call first):\n"
      "  #0 leak_file at tests/run/programs/leaks.c:19\n"
      "  #1 main at tests/run/programs/leaks.c:",
      ":20: ResourceWarning: socket still open at exit <tcp fd=4 0.0.0.0:0>\n",
      ":23: ResourceWarning: pipe still open at exit <fd=5 pipe:[",
      ":27: ResourceWarning: epoll still open at exit <fd=6 anon_inode:[eventpoll]>\n",
      ":28: ResourceWarning: eventfd still open at exit <fd=7 anon_inode:[eventfd]>\n",
      ":29: ResourceWarning: timerfd still open at exit <fd=8 anon_inode:[timerfd]>\n",
      ":34: ResourceWarning: signalfd still open at exit <fd=9 anon_inode:[signalfd]>\n",
      ":36: ResourceWarning: memfd still open at exit <fd=10 /memfd:restrack-run-test (deleted)>\n",
      ":37: ResourceWarning: inotify still open at exit <fd=11 anon_inode:inotify>\n",
      ":41: ResourceWarning: stream still open at exit <fd=12 /dev/null>\n"
      "Object allocated at (most recent call first):\n"
      "  #0 leak_stream at tests/run/programs/leaks.c:41\n",
      ":45: ResourceWarning: directory still open at exit <fd=13 />\n"
      "Object allocated at (most recent call first):\n"
      "  #0 leak_directory at tests/run/programs/leaks.c:45\n",
      // A duplicate has the kind of what it duplicates.
      ":48: ResourceWarning: file still open at exit <fd=14 /dev/null>\n"
      "Object allocated at (most recent call first):\n"
      "  #0 leak_duplicate at tests/run/programs/leaks.c:48\n",
      ":63: ResourceWarning: socket still open at exit <tcp fd=17 127.0.0.1:",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  std::size_t at = 0;
  for (const std::string& entry : expected) {
    const std::size_t found = result.err.find(std::string(kLeaks) + entry, at);
    ASSERT_NE(found, std::string::npos) << entry << "\n--- in ---\n" << result.err;
    at = found + 1;
  }
  EXPECT_EQ(count(result.err, "ResourceWarning"), 13u) << result.err;
}

TEST(RestrackRunTest, ProgramThatClosesEverythingIsQuiet) {
  const Result result = run_under({program("leaks"), "none"});
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out, "opened 13\n");
  EXPECT_EQ(result.err, "");
}

TEST(RestrackRunTest, DoubleCloseIsReportedWithWhereItWasOpenedAndFirstClosed) {
  const Result result = run_under({program("double_close")});
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out, "second close returned -1\n");
  EXPECT_EQ(result.err,
            "tests/run/programs/double_close.c:12: ResourceWarning: file closed while not open "
            "<fd=3 (closed)>\n"
            "Object allocated at (most recent call first):\n"
            "  #0 main at tests/run/programs/double_close.c:10\n"
            "First closed at (most recent call first):\n"
            "  #0 close_log at tests/run/programs/double_close.c:7\n"
            "  #1 main at tests/run/programs/double_close.c:11\n");
}

TEST(RestrackRunTest, DoubleCloseIsInTheJsonReportAndCountsAsAnError) {
  const std::string report = scratch("double_close.json");
  const Result result = run({RESTRACK_RUN, "--action=error", "--exit-code=3", "--report=" + report,
                             "--", program("double_close")});
  EXPECT_EQ(result.status, 3) << result.err;
  const boost::json::value parsed = boost::json::parse(read_file(report));
  std::remove(report.c_str());
  const boost::json::array& diagnostics = parsed.at("diagnostics").as_array();
  ASSERT_EQ(diagnostics.size(), 1u) << parsed;
  EXPECT_EQ(diagnostics[0].at("type").as_string(), "closed_not_open");
  EXPECT_EQ(diagnostics[0].at("kind").as_string(), "file");
  EXPECT_EQ(diagnostics[0].at("description").as_string(), "fd=3 (closed)");
  EXPECT_EQ(diagnostics[0].at("location").as_string(), "tests/run/programs/double_close.c:12");
  EXPECT_TRUE(diagnostics[0].as_object().contains("first_close_trace"));
  EXPECT_EQ(parsed.at("options").at("capture").as_string(), "dwarf");
}

// `how` closes the TrackedFd's descriptor behind its back; the report names the kind of
// the raw record (a stream once fdopen took it), the owner's allocation trace and the
// whole trace of the close, once: the owner's own close afterwards is no second report.
void expect_closed_behind_back(const std::string& how, const std::string& kind, int line) {
  RESTRACK_RUN_SKIP_IF_SANITIZED();
  const Result result = run_under({program("behind_owner"), how});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(result.out.starts_with("owner's close returned ")) << result.out;
  EXPECT_EQ(count(result.err, "ResourceWarning"), 1u) << result.err;
  const std::string source = "tests/run/programs/behind_owner.cc";
  const std::string function = how == "close"    ? "legacy_shutdown(int)"
                               : how == "fclose" ? "legacy_stream_shutdown(int)"
                                                 : "legacy_redirect(int)";
  const int caller_line = how == "close" ? 32 : how == "fclose" ? 34 : 36;
  EXPECT_EQ(result.err, source + ":" + std::to_string(line) + ": ResourceWarning: " + kind +
                            " closed behind its owner's back <fd=3 /dev/null>\n"
                            "Object allocated at (most recent call first):\n"
                            "  #0 (anonymous namespace)::open_log() at " +
                            source +
                            ":14\n"
                            "  #1 main at " +
                            source +
                            ":30\n"
                            "Closed at (most recent call first):\n"
                            "  #0 (anonymous namespace)::" +
                            function + " at " + source + ":" + std::to_string(line) +
                            "\n"
                            "  #1 main at " +
                            source + ":" + std::to_string(caller_line) + "\n");
}

TEST(RestrackRunTest, CloseBehindATrackedFdsBackIsReportedWithBothTraces) {
  expect_closed_behind_back("close", "file", 17);
}

TEST(RestrackRunTest, FcloseOfAStreamOverATrackedFdIsACloseBehindItsBack) {
  expect_closed_behind_back("fclose", "stream", 21);
}

TEST(RestrackRunTest, Dup2OntoATrackedFdIsACloseBehindItsBack) {
  expect_closed_behind_back("dup2", "file", 24);
}

TEST(RestrackRunTest, ForkAndExecChildrenReportOnlyTheirOwnDescriptors) {
  const std::string reports = scratch("fork_exec");
  std::filesystem::create_directories(reports);
  const Result result =
      run({RESTRACK_RUN, "--report=" + reports + "/%p.json", "--", program("fork_exec")});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out, "fork child leaks fd 4\nparent leaks fds 3 and 4\nexec child leaks fd 5\n");
  // Inherited descriptors are not blamed: fd 3 is the parent's only.
  EXPECT_EQ(count(result.err, "ResourceWarning"), 4u) << result.err;
  EXPECT_EQ(count(result.err, "#0 open_shared at"), 1u) << result.err;
  EXPECT_TRUE(contains(result.err,
                       "file still open at exit <fd=4 /dev/zero>\n"
                       "Object allocated at (most recent call first):\n"
                       "  #0 open_in_fork_child at"));
  EXPECT_TRUE(contains(result.err,
                       "file still open at exit <fd=5 /dev/urandom>\n"
                       "Object allocated at (most recent call first):\n"
                       "  #0 open_in_exec_child at"));
  // One report per process.
  std::vector<std::size_t> live_counts;
  for (const auto& entry : std::filesystem::directory_iterator(reports)) {
    const boost::json::value parsed = boost::json::parse(read_file(entry.path()));
    live_counts.push_back(parsed.at("live").as_array().size());
  }
  std::filesystem::remove_all(reports);
  std::sort(live_counts.begin(), live_counts.end());
  EXPECT_EQ(live_counts, (std::vector<std::size_t>{1, 1, 2}));
}

TEST(RestrackRunTest, GoogleTestListenerFailsTheTestThatLeftARawDescriptorOpen) {
  RESTRACK_RUN_SKIP_IF_SANITIZED();
  const Result result = run_under({program("gtest_program")});
  EXPECT_EQ(result.status, 1) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "[       OK ] RawDescriptors.ClosesWhatItOpens")) << result.out;
  EXPECT_TRUE(contains(result.out,
                       "ResourceWarning: file left open by test "
                       "RawDescriptors.LeavesOneOpen <fd="))
      << result.out;
  EXPECT_TRUE(contains(result.out,
                       "  #0 (anonymous namespace)::open_raw() at "
                       "tests/run/programs/gtest_program.cc:11\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "[  FAILED  ] RawDescriptors.LeavesOneOpen (")) << result.out;
  EXPECT_TRUE(contains(result.out,
                       "ResourceWarning: stream left open by test "
                       "RawDescriptors.LeavesAStreamOpen <fd="))
      << result.out;
  EXPECT_TRUE(contains(result.out, "[  FAILED  ] RawDescriptors.LeavesAStreamOpen ("))
      << result.out;
  EXPECT_TRUE(contains(result.out, "[  FAILED  ] 2 tests, listed below:")) << result.out;
}

TEST(RestrackRunTest, FailingCallsReturnWhatTheyReturnWithoutItErrnoIncluded) {
  const Result result = run_under({program("errno_check")});
  EXPECT_EQ(result.status, 0) << result.out;
  EXPECT_EQ(result.out, "checked 10, 0 differ\n");
}

TEST(RestrackRunTest, StaticallyLinkedProgramIsNamedAndRunUntracked) {
  const Result result = run_under({program("static")});
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out, "second close returned -1\n");
  EXPECT_EQ(result.err, "restrack-run: '" + program("static") +
                            "' is run untracked: it is statically linked: the C library is part "
                            "of it, so its calls cannot be interposed.\n");
}

TEST(RestrackRunTest, BadOptionIsNamedAndNothingRuns) {
  const Result result = run({RESTRACK_RUN, "--trace-depth=many", "--", program("leaks")});
  EXPECT_EQ(result.status, 125);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "restrack-run: RESTRACK_OPTIONS: bad value 'many' for option 'trace_depth' (expected "
            "a number from 0 to 64)\n");
}

TEST(RestrackRunTest, MissingProgramExitsWith127) {
  const Result result = run({RESTRACK_RUN, "--", "/no/such/program"});
  EXPECT_EQ(result.status, 127);
  EXPECT_EQ(result.err,
            "restrack-run: cannot run '/no/such/program' (No such file or directory)\n");
}

}  // namespace
