// The regression tests of regression_test.cc that are about POSIX itself: traces taken
// in signal handlers, and report paths that are symbolic links and FIFOs (Linux only;
// docs/windows.md).
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "capture.h"
#include "report_path_test.h"
#include "stack_depot.h"
#include "tracker_test.h"

namespace restrack {
inline namespace v1_tracking_on {
namespace internal {}  // namespace internal
}  // namespace v1_tracking_on
}  // namespace restrack
namespace {

using restrack_test::read_file;
using restrack_test::ReportPathTest;
using RegressionTest = restrack_test::TrackerTest;

// The handler only unwinds into a static array (no allocation: async-signal-safe); the
// trace is interned after it.
sigjmp_buf escape_from_trap;
std::uintptr_t trap_frames[16];
int trap_frame_count = 0;
void capture_in_handler(int) {
  trap_frame_count = restrack::internal::capture_dwarf(trap_frames, 16, 0);
  siglongjmp(escape_from_trap, 1);
}

__attribute__((noinline)) void trap_here(volatile int* marker) {
  *marker = 1;
  __builtin_trap();  // kTrapLine
}
constexpr int kTrapLine = __LINE__ - 2;

TEST_F(RegressionTest, DwarfTraceThroughASignalNamesTheInterruptedLine) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=8"));
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = capture_in_handler;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(::sigaction(SIGILL, &action, &previous), 0);
  volatile int marker = 0;
  if (sigsetjmp(escape_from_trap, 1) == 0) trap_here(&marker);
  ::sigaction(SIGILL, &previous, nullptr);
  const restrack::TraceId trap_trace =
      restrack::internal::intern_trace(trap_frames, trap_frame_count);
  bool named = false;
  for (const restrack::Frame& frame : restrack::symbolize_trace(trap_trace)) {
    if (frame.function == "(anonymous namespace)::trap_here(int volatile*)") {
      EXPECT_EQ(frame.line, static_cast<unsigned>(kTrapLine)) << restrack::format_trace(trap_trace);
      named = true;
    }
  }
  EXPECT_TRUE(named) << restrack::format_trace(trap_trace);
}

// A signal handler that captures on the thread whose capture it interrupted (an
// interposed open() in a handler, say) gets its own trace and leaves the interrupted one
// its own, though the thread's remembered walk (RecentWalk, capture.h) is half written at
// that moment. The test hook raises the signal exactly there.
restrack::TraceId handler_trace = restrack::kNoTrace;
void capture_in_handler_too(int) { handler_trace = restrack::capture_trace(); }
void interrupt_the_walk() noexcept {
  restrack::internal::walk_interruption_for_test = nullptr;  // once
  raise(SIGUSR1);
}

__attribute__((noinline)) restrack::TraceId capture_at_one_site() {
  const restrack::TraceId id = restrack::capture_trace();
  asm volatile("");
  return id;
}

// Captures `frames` frames below the caller: each depth is its own stack.
__attribute__((noinline)) void capture_frames_deeper(int frames) {
  if (frames == 0) {
    restrack::capture_trace();
  } else {
    capture_frames_deeper(frames - 1);
  }
  asm volatile("");  // not a tail call
}

// Captures from as many stacks as a thread remembers walks, deeper than `depth` and none
// seen before: each walks, and together they replace every walk remembered.
void forget_remembered_walks(int depth) {
  for (int i = 1; i <= restrack::internal::RecentWalk::kWalks; ++i) {
    capture_frames_deeper(depth + i);
  }
}

// Captures from one site three times: the first walks (or replays, in the second round),
// the second replays, the third walks again (the record holds the handler's walk then, or
// a changed one) with the signal raised in the middle when `interrupt` is set.
__attribute__((noinline)) std::vector<restrack::TraceId> three_captures(bool interrupt) {
  std::vector<restrack::TraceId> ids;
  for (int i = 0; i < 3; ++i) {
    if (i == 2) {
      forget_remembered_walks(interrupt ? restrack::internal::RecentWalk::kWalks : 0);
      if (interrupt) restrack::internal::walk_interruption_for_test = interrupt_the_walk;
    }
    ids.push_back(capture_at_one_site());
  }
  restrack::internal::walk_interruption_for_test = nullptr;
  return ids;
}

TEST_F(RegressionTest, CaptureInterruptedByACapturingSignalHandlerKeepsItsOwnTrace) {
  struct sigaction action {};
  action.sa_handler = capture_in_handler_too;
  sigemptyset(&action.sa_mask);
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::vector<std::vector<restrack::TraceId>> rounds;
  for (const bool interrupt : {false, true}) rounds.push_back(three_captures(interrupt));
  ASSERT_EQ(sigaction(SIGUSR1, &previous, nullptr), 0);

  const restrack::TraceId site = rounds[0][0];
  ASSERT_NE(site, restrack::kNoTrace);
  EXPECT_EQ(rounds[0], std::vector<restrack::TraceId>({site, site, site}));
  EXPECT_EQ(rounds[1], std::vector<restrack::TraceId>({site, site, site}));
  ASSERT_NE(handler_trace, restrack::kNoTrace) << "the handler ran and captured";
  EXPECT_NE(handler_trace, site);
}

TEST_F(ReportPathTest, SymbolicLinkIsFollowedAndKept) {
  const std::string target = directory_ + "/target.json";
  const std::string link = directory_ + "/link.json";
  ASSERT_EQ(::symlink("target.json", link.c_str()), 0);
  ASSERT_TRUE(restrack::write_report(link));
  struct stat info {};
  ASSERT_EQ(::lstat(link.c_str(), &info), 0);
  EXPECT_TRUE(S_ISLNK(info.st_mode));
  EXPECT_EQ(boost::json::parse(read_file(target)).at("version").as_int64(), 2);
}

TEST_F(ReportPathTest, FifoIsWrittenIntoNotReplaced) {
  const std::string fifo = directory_ + "/report.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });
  // The writer opens without blocking: wait until the reader is there.
  bool written = false;
  for (int attempt = 0; attempt < 500 && !written; ++attempt) {
    written = restrack::write_report(fifo);
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  reader.join();
  EXPECT_TRUE(written);
  struct stat info {};
  ASSERT_EQ(::lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  // The whole report came through the FIFO, its last diagnostic the one of SetUp.
  const boost::json::value report = boost::json::parse(received);
  const boost::json::array& diagnostics = report.at("diagnostics").as_array();
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_EQ(diagnostics.back().at("type").as_string(), "unclosed");
}

}  // namespace
