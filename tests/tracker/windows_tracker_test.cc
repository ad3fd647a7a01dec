// The tracker on Windows: the warning text with frames named by Boost.Stacktrace over
// libbacktrace, descriptions from the OS, module and offset of every frame, options and
// suppression rules (docs/windows.md).
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "capture.h"
#include "tracker_test.h"

using restrack_test::at;
using restrack_test::TrackerTest;

namespace {

// A file of this test's own in the temporary directory, as Windows names it.
std::string temporary_file(const char* name) {
  char directory[MAX_PATH + 1];
  const DWORD length = GetTempPathA(sizeof directory, directory);
  EXPECT_GT(length, 0u);
  std::string path = std::string(directory, length) + name;
  std::ofstream(path) << "restrack\n";
  return path;
}

}  // namespace

static restrack::TrackedFd open_file(const std::string& path) {
  return restrack::TrackedFd(::_open(path.c_str(), _O_RDONLY | _O_BINARY));  // kOpenLine
}
constexpr int kOpenLine = __LINE__ - 2;

static void close_it(restrack::TrackedFd& fd) {
  fd.close();  // kCloseLine
}
constexpr int kCloseLine = __LINE__ - 2;

using WindowsTrackerTest = TrackerTest;

TEST_F(WindowsTrackerTest, UnclosedFileNamesDestroySitePathAndAllocationTrace) {
  const std::string path = temporary_file("restrack_unclosed.txt");
  std::optional<restrack::TrackedFd> fd(open_file(path));
  const int caller_line = __LINE__ - 1;
  const int number = fd->get();
  fd.reset();  // destroyed while open
  const int destroy_line = __LINE__ - 1;

  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, destroy_line) +
                ": ResourceWarning: unclosed handle <fd=" + std::to_string(number) + " " + path +
                ">\n"
                "Object allocated at (most recent call first):\n"
                "  #0 open_file(std::string const&) at " +
                at(__FILE__, kOpenLine) +
                "\n"
                "  #1 WindowsTrackerTest_UnclosedFileNamesDestroySitePathAndAllocationTrace_"
                "Test::TestBody() at " +
                at(__FILE__, caller_line));
  // restrack closed the file itself: it can be removed now.
  EXPECT_EQ(std::remove(path.c_str()), 0);
}

TEST_F(WindowsTrackerTest, ClosedTwiceAddsTheFirstCloseTrace) {
  const std::string path = temporary_file("restrack_twice.txt");
  restrack::TrackedFd fd = open_file(path);
  const int open_line = __LINE__ - 1;
  const int number = fd.get();
  close_it(fd);
  const int first_close_line = __LINE__ - 1;
  EXPECT_EQ(fd.close(), EBADF);
  const int second_close_line = __LINE__ - 1;

  const std::string test = "WindowsTrackerTest_ClosedTwiceAddsTheFirstCloseTrace_Test::TestBody()";
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, second_close_line) +
                ": ResourceWarning: handle closed twice <fd=" + std::to_string(number) +
                " (closed)>\n" + "Object allocated at (most recent call first):\n" +
                "  #0 open_file(std::string const&) at " + at(__FILE__, kOpenLine) + "\n" +
                "  #1 " + test + " at " + at(__FILE__, open_line) + "\n" +
                "First closed at (most recent call first):\n" +
                "  #0 close_it(restrack::TrackedFd&) at " + at(__FILE__, kCloseLine) + "\n" +
                "  #1 " + test + " at " + at(__FILE__, first_close_line));
  EXPECT_EQ(std::remove(path.c_str()), 0);
}

TEST_F(WindowsTrackerTest, EveryFrameCarriesThisProgramAndItsOffset) {
  const std::string path = temporary_file("restrack_module.txt");
  std::optional<restrack::TrackedFd> fd(open_file(path));
  fd.reset();

  ASSERT_EQ(captured_.records().size(), 1u);
  const std::vector<restrack::Frame> frames =
      restrack::symbolize_trace(captured_.records()[0].allocation_trace);
  ASSERT_EQ(frames.size(), 2u);
  wchar_t program[MAX_PATH];
  const DWORD length = GetModuleFileNameW(nullptr, program, MAX_PATH);
  char program_utf8[4 * MAX_PATH];
  const int size = WideCharToMultiByte(CP_UTF8, 0, program, static_cast<int>(length), program_utf8,
                                       sizeof program_utf8, nullptr, nullptr);
  const auto base = reinterpret_cast<std::uintptr_t>(GetModuleHandleW(nullptr));
  for (const restrack::Frame& frame : frames) {
    EXPECT_EQ(frame.module, std::string(program_utf8, static_cast<std::size_t>(size)));
    EXPECT_EQ(frame.offset, frame.address - base);
  }
  EXPECT_EQ(std::remove(path.c_str()), 0);
}

TEST_F(WindowsTrackerTest, ThreadIdIsTheWindowsThreadId) {
  const std::string path = temporary_file("restrack_thread.txt");
  std::optional<restrack::TrackedFd> fd(open_file(path));
  fd.reset();

  ASSERT_EQ(captured_.records().size(), 1u);
  EXPECT_EQ(captured_.records()[0].thread_id, GetCurrentThreadId());
  EXPECT_EQ(std::remove(path.c_str()), 0);
}

static void leak(const restrack::Kind& kind, const std::string& path) {
  restrack::TrackedFd fd(::_open(path.c_str(), _O_RDONLY | _O_BINARY), kind);
}

TEST_F(WindowsTrackerTest, SuppressionRulesMatchKindsAndSymbolizedFrames) {
  const std::string file = temporary_file("restrack_leaked.txt");
  const std::string rules = temporary_file("restrack.supp");
  std::ofstream(rules) << "kind:pipe\nsite:^leak\\(restrack::Kind const&, std::string const&\\) "
                          "at tests/tracker/windows_tracker_test.cc:\n";
  // Through the C++ API: in RESTRACK_OPTIONS the drive letter's ':' would end the value
  // (docs/windows.md).
  restrack::Options options = restrack::current_options();
  options.suppressions = rules;
  ASSERT_TRUE(restrack::set_options(options));
  leak(restrack::kinds::pipe, file);
  leak(restrack::kinds::socket, file);
  EXPECT_TRUE(captured_.records().empty());
  EXPECT_EQ(restrack::diagnostic_counts().suppressed, 2u);
  EXPECT_EQ(std::remove(file.c_str()), 0);
  options.suppressions.clear();
  ASSERT_TRUE(restrack::set_options(options));
  EXPECT_EQ(std::remove(rules.c_str()), 0);
}

// ---- Traces by learned unwind rules (capture_windows.cc) --------------------------------

namespace unwind_rules {

struct Traces {
  int by_rules = 0;  // frames, or -1 where a frame had no rule
  std::vector<std::uintptr_t> rules;
  std::vector<std::uintptr_t> captured;  // by capture_frame_pointers
  std::vector<std::uintptr_t> system;    // by RtlCaptureStackBackTrace
};

// All three from one function: their first frames are three call sites in it, and only
// the frames from its caller on are compared.
__attribute__((noinline)) Traces capture_three_ways(int frames) {
  Traces traces;
  std::uintptr_t out[64];
  traces.by_rules = restrack::internal::capture_by_unwind_rules(out, frames, 0);
  traces.rules.assign(out + 1, out + std::max(traces.by_rules, 1));
  const int captured = restrack::internal::capture_frame_pointers(out, frames, 0);
  traces.captured.assign(out + 1, out + std::max(captured, 1));
  void* system[64];
  const int count = RtlCaptureStackBackTrace(0, frames, system, nullptr);
  // Up to the null return address past the thread's start, where Windows stops and Wine
  // goes on.
  for (int i = 1; i < count && system[i] != nullptr; ++i) {
    traces.system.push_back(reinterpret_cast<std::uintptr_t>(system[i]));
  }
  return traces;
}

volatile char sink = 0;

// rbp is this function's frame register (alloca): its caller's rsp moves with `bytes`
// relative to its own rsp, not relative to rbp.
__attribute__((noinline)) Traces with_alloca(int bytes, int frames) {
  auto* buffer = static_cast<volatile char*>(__builtin_alloca(bytes));
  buffer[0] = 1;
  Traces traces = capture_three_ways(frames);
  sink = buffer[0];
  return traces;
}

__attribute__((noinline)) Traces nested(int depth, int bytes, int frames) {
  Traces traces = depth == 0 ? with_alloca(bytes, frames) : nested(depth - 1, bytes, frames);
  sink = static_cast<char>(depth);
  return traces;
}

// Optimized whatever the test build, like at_depth in the benchmarks: the recursive call
// is followed by the epilogue, and the unwinder reads its return address as the start of
// one, replaying it from rsp although rbp is this function's frame register.
#if defined(__clang__)  // clang-tidy reads this file; GCC builds it
#define OPTIMIZED_HERE
#else
#define OPTIMIZED_HERE __attribute__((optimize("O2", "no-omit-frame-pointer")))
#endif
__attribute__((noinline)) OPTIMIZED_HERE void returning_at_once(int depth, int bytes, int frames,
                                                                Traces& traces) {
  if (depth == 0) {
    traces = with_alloca(bytes, frames);
  } else {
    returning_at_once(depth - 1, bytes, frames, traces);
  }
  asm volatile("" ::: "memory");
}

}  // namespace unwind_rules

TEST(WindowsUnwindRulesTest, LearnedRulesGiveTheSystemUnwindersTrace) {
  // Twice at each size: the first learns the rules, the second applies them. The larger
  // alloca would end the walk in the wrong place if its frame's rule were taken from rsp.
  for (const int bytes : {64, 64, 4096, 4096}) {
    const unwind_rules::Traces traces = unwind_rules::nested(3, bytes, 10);
    ASSERT_EQ(traces.by_rules, 10) << "every frame here is this program's";
    EXPECT_EQ(traces.rules, traces.system) << bytes;
    EXPECT_EQ(traces.captured, traces.system) << bytes;
  }
}

TEST(WindowsUnwindRulesTest, ReturnAddressBeforeAnEpilogueGetsARuleFromRsp) {
  for (int round = 0; round < 2; ++round) {
    unwind_rules::Traces traces;
    unwind_rules::returning_at_once(4, 64, 12, traces);
    ASSERT_EQ(traces.by_rules, 12) << "every frame here is this program's";
    EXPECT_EQ(traces.rules, traces.system) << round;
    EXPECT_EQ(traces.captured, traces.system) << round;
  }
}

TEST(WindowsUnwindRulesTest, TraceEndsAtTheThreadsStart) {
  unwind_rules::Traces traces;
  std::thread([&] { traces = unwind_rules::nested(2, 64, 64); }).join();
  EXPECT_EQ(traces.captured, traces.system);
  EXPECT_GT(traces.system.size(), 6u);
}

TEST(WindowsUnwindRulesTest, MainThreadsTraceEndsAtItsStartByRules) {
  const unwind_rules::Traces traces = unwind_rules::nested(2, 64, 64);
  EXPECT_EQ(traces.by_rules, static_cast<int>(traces.system.size()) + 1)
      << "the program's and the system's frames where the main thread starts have rules";
  EXPECT_EQ(traces.rules, traces.system);
  EXPECT_EQ(traces.captured, traces.system);
}
