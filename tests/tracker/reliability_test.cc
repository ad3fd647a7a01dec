// What a hostile run found (issue 8) and the lifetime bugs of issue 7, each a regression
// test: exit paths, handlers, fork, report files, traces across signals and fibers — in
// child processes (reliability_probe.cc) where the process itself is what is tested.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "probe.h"

namespace {

using restrack_test::ChildResult;
using restrack_test::read_file;
using restrack_test::scratch;

ChildResult run_probe(const std::string& mode, const std::string& options,
                      const std::string& environment = "") {
  return restrack_test::run_probe(RESTRACK_RELIABILITY_PROBE, mode, options, environment);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++found;
  }
  return found;
}

TEST(ReliabilityTest, DiagnosticAfterTheExitReportIsPatchedIntoTheSameFile) {
  const std::string report = scratch("late.json");
  const ChildResult result =
      run_probe("late", "trace_depth=4:report=" + report, "RESTRACK_PROBE_REPORT=" + report);
  ASSERT_EQ(result.exit_status, 0) << result.err;
  // Patched in place, not rewritten through a new file.
  const std::string before = result.out.substr(result.out.find("before inode "));
  const std::string after = result.out.substr(result.out.find("after inode "));
  EXPECT_EQ(before.substr(13, before.find('\n') - 13), after.substr(12, after.find('\n') - 12))
      << result.out;
  const boost::json::value parsed = boost::json::parse(read_file(report));
  std::remove(report.c_str());
  EXPECT_EQ(parsed.at("diagnostics").as_array().size(), 2u);
  EXPECT_EQ(parsed.at("counts").at("dispatched").to_number<int>(), 2);
  for (const boost::json::value& diagnostic : parsed.at("diagnostics").as_array()) {
    // Each refers to a trace of the table.
    const auto id = diagnostic.at("allocation_trace").as_int64();
    bool listed = false;
    for (const boost::json::value& trace : parsed.at("traces").as_array()) {
      listed = listed || trace.at("id").as_int64() == id;
    }
    EXPECT_TRUE(listed) << id;
  }
}

TEST(ReliabilityTest, ForcedExitStatusLetsEarlierExitHandlersRun) {
  const ChildResult result =
      run_probe("atexit-first", "action=error:exit_code=3", "RESTRACK_PROBE_ATEXIT=1");
  EXPECT_EQ(result.exit_status, 3);
  EXPECT_EQ(result.out, "main returns\nearly exit handler ran\n");
}

TEST(ReliabilityTest, HandlerThatCallsExitEndsTheProcessQuietly) {
  const ChildResult result = run_probe("handler-exit", "trace_depth=2");
  EXPECT_EQ(result.exit_status, 7) << result.err;
  EXPECT_EQ(result.out, "handler calls exit\n");
  EXPECT_EQ(count(result.err, "ResourceWarning: unclosed handle"), 1u) << result.err;
  EXPECT_EQ(result.err.find("deadlock"), std::string::npos) << result.err;
}

TEST(ReliabilityTest, DiagnosticsRaisedByAHandlerAreDispatchedAfterItReturns) {
  const ChildResult result = run_probe("handler-nested", "trace_depth=2");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out,
            "handler sees unclosed\n"
            "handler returns\n"
            "handler sees closed_twice\n"
            "handler sees unclosed\n"
            "dropped 0\n"
            "main returns\n");
}

#if RESTRACK_TEST_SYMBOLIZER_BOOST
// What the Boost.Stacktrace symbolizer gives less (docs/windows.md): libbacktrace makes its
// state once, so a program file it could not open stays unread; both reports keep module
// and offset.
TEST(ReliabilityTest, SymbolsMissingForWantOfDescriptorsStayMissingUnderLibbacktrace) {
  const ChildResult result = run_probe("emfile", "trace_depth=4");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  ASSERT_EQ(count(result.err, "ResourceWarning: unclosed widget"), 2u) << result.err;
  EXPECT_EQ(result.err.find("leak_widget() at"), std::string::npos) << result.err;
  EXPECT_EQ(count(result.err, "  #0 0x"), 2u) << result.err;
  EXPECT_EQ(count(result.err, "/tracker_reliability_probe+0x"), 6u) << result.err;
}
#else
TEST(ReliabilityTest, SymbolsMissingForWantOfDescriptorsAreLookedUpAgainLater) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' own runtime needs descriptors to check memory (UBSan's vptr check
  // reads through a pipe): with none left it reports errors of its own.
  GTEST_SKIP() << "needs free descriptors for the sanitizer runtime";
#endif
  const ChildResult result = run_probe("emfile", "trace_depth=4");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  ASSERT_EQ(count(result.err, "ResourceWarning: unclosed widget"), 2u) << result.err;
  const std::size_t second_at = result.err.rfind("ResourceWarning");
  const std::string first = result.err.substr(0, second_at);
  const std::string second = result.err.substr(second_at);
  // The first could not name the functions (the program's file could not be opened)...
  EXPECT_EQ(first.find("leak_widget() at"), std::string::npos) << result.err;
  // ...which was not remembered: the second, from the same site, does.
  EXPECT_NE(second.find("  #1 (anonymous namespace)::leak_widget() at "
                        "tests/tracker/reliability_probe.cc:46"),
            std::string::npos)
      << result.err;
}
#endif

TEST(ReliabilityTest, ResourceOpenedByAFileScopeInitializerEndsItsTraceThere) {
  const ChildResult result = run_probe("static-init", "trace_depth=8:report_at_exit=1");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.err.find("tests/tracker/reliability_probe.cc:107: ResourceWarning: handle still "
                            "open at exit <fd="),
            std::string::npos)
      << result.err;
  EXPECT_NE(
      result.err.find("  #0 <static initializer> at tests/tracker/reliability_probe.cc:107\n"),
      std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("__libc_start"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("call_init"), std::string::npos) << result.err;
}

TEST(ReliabilityTest, BytesThatAreNotUtf8StayReadableInTheReportAndTheLog) {
  const std::string report = scratch("bytes.json");
  const ChildResult result = run_probe("bytes", "report_at_exit=1:report=" + report);
  ASSERT_EQ(result.exit_status, 0) << result.err;
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
  const ChildResult result = run_probe("fork", "trace_depth=4");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "50 of 50 children ok\n") << result.err;
}

TEST(ReliabilityTest, FiberStackWithFramePointerCaptureSaysWhyThereIsNoTrace) {
  const ChildResult result = run_probe("fiber", "trace_depth=16:capture=fp");
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.err.find("ResourceWarning: unclosed handle <fd="), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("No allocation trace: the frame-pointer walk stopped at a stack "
                            "restrack does not know (a fiber or ucontext stack?); unwind with "
                            "RESTRACK_OPTIONS=capture=dwarf to see where it was allocated"),
            std::string::npos)
      << result.err;
  const ChildResult dwarf = run_probe("fiber", "trace_depth=16:capture=dwarf");
  EXPECT_NE(
      dwarf.err.find("(anonymous namespace)::leak_one() at tests/tracker/reliability_probe.cc:35"),
      std::string::npos)
      << dwarf.err;
}

}  // namespace
