// The reliability tests that are about POSIX itself (Linux only; docs/windows.md): exit
// handlers registered before restrack's still running after a forced exit status
// (reliability_probe.cc; reliability_windows_test.cc holds what Windows does), no
// descriptor left, file names that are bytes, fork, ucontext fibers (reliability_posix_probe.cc).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "probe.h"
#include "tracker_test.h"

namespace {

using restrack_test::count;
using restrack_test::read_file;
using restrack_test::scratch;

ProcessResult run_probe(const std::string& mode, const std::string& options,
                        const std::vector<std::string>& environment = {}) {
  return restrack_test::run_probe(RESTRACK_RELIABILITY_POSIX_PROBE, mode, options, environment);
}

TEST(ReliabilityTest, ForcedExitStatusLetsEarlierExitHandlersRun) {
  const ProcessResult result =
      restrack_test::run_probe(RESTRACK_RELIABILITY_PROBE, "atexit-first",
                               "action=error:exit_code=3", {"RESTRACK_PROBE_ATEXIT=1"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "main returns\nearly exit handler ran\n");
}

#if RESTRACK_TEST_SYMBOLIZER_BOOST
// What the Boost.Stacktrace symbolizer gives less (docs/windows.md): libbacktrace makes its
// state once, so a program file it could not open stays unread; both reports keep module
// and offset.
TEST(ReliabilityTest, SymbolsMissingForWantOfDescriptorsStayMissingUnderLibbacktrace) {
  const ProcessResult result = run_probe("emfile", "trace_depth=4");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(count(result.err, "ResourceWarning: unclosed widget"), 2u) << result.err;
  EXPECT_EQ(result.err.find("leak_widget() at"), std::string::npos) << result.err;
  EXPECT_EQ(count(result.err, "  #0 0x"), 2u) << result.err;
  EXPECT_EQ(count(result.err, "/tracker_reliability_posix_probe+0x"), 6u) << result.err;
}
#else
TEST(ReliabilityTest, SymbolsMissingForWantOfDescriptorsAreLookedUpAgainLater) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' own runtime needs descriptors to check memory (UBSan's vptr check
  // reads through a pipe): with none left it reports errors of its own.
  GTEST_SKIP() << "needs free descriptors for the sanitizer runtime";
#endif
  const ProcessResult result = run_probe("emfile", "trace_depth=4");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(count(result.err, "ResourceWarning: unclosed widget"), 2u) << result.err;
  const std::size_t second_at = result.err.rfind("ResourceWarning");
  const std::string first = result.err.substr(0, second_at);
  const std::string second = result.err.substr(second_at);
  // The first could not name the functions (the program's file could not be opened)...
  EXPECT_EQ(first.find("leak_widget() at"), std::string::npos) << result.err;
  // ...which was not remembered: the second, from the same site, does.
  EXPECT_NE(second.find("  #1 (anonymous namespace)::leak_widget() at "
                        "tests/tracker/reliability_posix_probe.cc:41"),
            std::string::npos)
      << result.err;
}
#endif

#if !RESTRACK_TEST_SYMBOLIZER_BOOST
// libdw's standard search for a library's separate debug information ends by loading
// elfutils' debuginfod client (libcurl and some twenty libraries: 14 ms of a first report)
// even when no server is named. The symbolizer skips that search for a module with
// nothing to find on this machine (docs/design.md, "Symbolization").
TEST(ReliabilityTest, AReportThroughALibraryWithoutDebugInformationLoadsNoDebuginfodClient) {
  const ProcessResult result = run_probe("library-frame", "trace_depth=8");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "debuginfod client loaded: no\nmain returns\n");
  ASSERT_EQ(count(result.err, "ResourceWarning: unclosed widget"), 1u) << result.err;
  EXPECT_NE(result.err.find("  #1 (anonymous namespace)::leak_widget() at "
                            "tests/tracker/reliability_posix_probe.cc:41"),
            std::string::npos)
      << result.err;
}
#endif

TEST(ReliabilityTest, BytesThatAreNotUtf8StayReadableInTheReportAndTheLog) {
  const std::string report = scratch("bytes.json");
  const ProcessResult result = run_probe("bytes", "report_at_exit=1:report=" + report);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Boost.JSON rejects invalid UTF-8: parsing at all is half the test.
  const boost::json::value parsed = boost::json::parse(read_file(report));
  const boost::json::object* found = nullptr;
  for (const boost::json::value& entry : parsed.at("live").as_array()) {
    if (entry.at("description").as_string().find("restrack-caf") != boost::json::string::npos) {
      found = &entry.as_object();
    }
  }
  ASSERT_NE(found, nullptr) << read_file(report);
  const boost::json::object& live = *found;
  const std::string description(live.at("description").as_string());
  EXPECT_NE(description.find("/tmp/restrack-caf\xEF\xBF\xBD-\x1b[31m-"), std::string::npos)
      << description;
  // The exact bytes, recoverable.
  EXPECT_TRUE(live.contains("description_base64"));
  std::remove(report.c_str());
  // The log shows the control byte escaped, never raw.
  EXPECT_NE(result.err.find("restrack-caf\xe9-\\x1b[31m-"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\x1b'), std::string::npos);
}

TEST(ReliabilityTest, ChildrenForkedWhileAnotherThreadUsesTheTrackerWorkOnTheirOwn) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // GCC 12's sanitizer allocators take no lock around fork(): a child that allocates
  // (restrack looks up the new thread's stack bounds, pthread_getattr_np allocates; the
  // child's first open allocates its registry chunk) can block for ever on an allocator
  // lock another thread held at the fork. Seen in about half the runs under ASan and in 3
  // of 40 under TSan (docs/testing.md); the Debug build runs this test.
  GTEST_SKIP() << "the sanitizer's allocator is not fork-safe (GCC 12)";
#endif
  const ProcessResult result = run_probe("fork", "trace_depth=4");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "50 of 50 children ok\n") << result.err;
}

TEST(ReliabilityTest, FiberStackWithFramePointerCaptureSaysWhyThereIsNoTrace) {
  const ProcessResult result = run_probe("fiber", "trace_depth=16:capture=fp");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("ResourceWarning: unclosed handle <fd="), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("No allocation trace: the frame-pointer walk stopped at a stack "
                            "restrack does not know (a fiber or ucontext stack?); unwind with "
                            "RESTRACK_OPTIONS=capture=dwarf to see where it was allocated"),
            std::string::npos)
      << result.err;
  const ProcessResult dwarf = run_probe("fiber", "trace_depth=16:capture=dwarf");
  EXPECT_NE(dwarf.err.find(
                "(anonymous namespace)::leak_one() at tests/tracker/reliability_posix_probe.cc:30"),
            std::string::npos)
      << dwarf.err;
}

}  // namespace
