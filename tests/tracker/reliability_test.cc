// What a hostile run found (issue 8) and the lifetime bugs of issue 7, each a regression
// test: exit paths, handlers, report files, traces of static initializers — in child
// processes (reliability_probe.cc) where the process itself is what is tested. What is
// about POSIX itself is in reliability_posix_test.cc.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "probe.h"
#include "test_object.h"
#include "tracker_test.h"

namespace {

using restrack_test::count;
using restrack_test::read_file;
using restrack_test::scratch;

ProcessResult run_probe(const std::string& mode, const std::string& options,
                        const std::vector<std::string>& environment = {}) {
  return restrack_test::run_probe(RESTRACK_RELIABILITY_PROBE, mode, options, environment);
}

TEST(ReliabilityTest, DiagnosticAfterTheExitReportIsPatchedIntoTheSameFile) {
  const std::string report = scratch("late.json");
  const ProcessResult result =
      run_probe("late", "trace_depth=4:report=" + report, {"RESTRACK_PROBE_REPORT=" + report});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Patched in place, not rewritten through a new file.
  const std::string file = restrack_test::identity_of_file(report);
  ASSERT_NE(file, "");
  EXPECT_EQ(result.out, "main returns\nbefore file " + file + "\nafter file " + file + "\n");
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

TEST(ReliabilityTest, HandlerThatCallsExitEndsTheProcessQuietly) {
  const ProcessResult result = run_probe("handler-exit", "trace_depth=2");
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_EQ(result.out, "handler calls exit\n");
  EXPECT_EQ(count(result.err, "ResourceWarning: unclosed handle"), 1u) << result.err;
  EXPECT_EQ(result.err.find("deadlock"), std::string::npos) << result.err;
}

TEST(ReliabilityTest, DiagnosticsRaisedByAHandlerAreDispatchedAfterItReturns) {
  const ProcessResult result = run_probe("handler-nested", "trace_depth=2");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "handler sees unclosed\n"
            "handler returns\n"
            "handler sees closed_twice\n"
            "handler sees unclosed\n"
            "dropped 0\n"
            "main returns\n");
}

TEST(ReliabilityTest, ResourceOpenedByAFileScopeInitializerEndsItsTraceThere) {
  const ProcessResult result = run_probe("static-init", "trace_depth=8:report_at_exit=1");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("tests/tracker/reliability_probe.cc:82: ResourceWarning: handle still "
                            "open at exit <" +
                            restrack_test::description_prefix()),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("  #0 <static initializer> at tests/tracker/reliability_probe.cc:82\n"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("__libc_start"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("call_init"), std::string::npos) << result.err;
}

}  // namespace
