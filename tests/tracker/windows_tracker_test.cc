// The tracker on Windows: the warning text with frames named by Boost.Stacktrace over
// libbacktrace, descriptions from the OS, module and offset of every frame, options and
// suppression rules (docs/windows.md).
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <windows.h>

#include <cstdio>
#include <fstream>
#include <optional>

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
