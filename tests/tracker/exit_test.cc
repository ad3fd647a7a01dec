// What happens at process exit: resources leaked by static objects, report_at_exit,
// exit_code, and the JSON report read back field by field. Each case runs exit_probe
// (exit_probe.cc) as a child process.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "probe.h"
#include "test_object.h"
#include "tracker_test.h"

namespace {

using restrack_test::description_prefix;
using restrack_test::read_file;

ProcessResult run_probe(const std::string& mode, const std::string& options) {
  return restrack_test::run_probe(RESTRACK_EXIT_PROBE, mode, options);
}

TEST(ExitTest, ResourceLeakedByAStaticObjectIsReportedAtExitWithoutCrashing) {
  const ProcessResult result = run_probe("static-leak", "trace_depth=3");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "main returns\n");
  EXPECT_NE(result.err.find(": ResourceWarning: unclosed socket <" + description_prefix()),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("Object allocated at (most recent call first):\n"
                            "  #0 (anonymous namespace)::open_socket() at "
                            "tests/tracker/exit_probe.cc:14\n"
                            "  #1 main at tests/tracker/exit_probe.cc:33"),
            std::string::npos)
      << result.err;
}

TEST(ExitTest, ReportAtExitListsWhatIsStillOpen) {
  const ProcessResult result = run_probe("leak", "trace_depth=3:report_at_exit=1");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.err.find("tests/tracker/exit_probe.cc:14: ResourceWarning: socket still open "
                            "at exit <" +
                            description_prefix()),
            std::string::npos)
      << result.err;
}

TEST(ExitTest, ExitCodeIsForcedWhenAnErrorWasCounted) {
  EXPECT_EQ(run_probe("leak", "action=error:exit_code=3").exit_code, 3);
  EXPECT_EQ(run_probe("leak", "action=warn:exit_code=3").exit_code, 0);
}

TEST(ExitTest, JsonReportCarriesEveryDiagnosticAndTheLiveSet) {
  // In the working directory: on Windows an absolute path's drive letter would end the
  // value.
  const ProcessResult result = run_probe("leak", "trace_depth=3:report=restrack_report_%p.json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // %p is the child's pid; find the file it wrote.
  std::vector<std::string> reports;
  for (const auto& entry : std::filesystem::directory_iterator(".")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("restrack_report_") && name.ends_with(".json")) reports.push_back(name);
  }
  ASSERT_EQ(reports.size(), 1u);
  const std::string written = reports[0];
  const boost::json::value report = boost::json::parse(read_file(written));
  std::remove(written.c_str());

  const boost::json::object& root = report.as_object();
  EXPECT_EQ(root.at("schema").as_string(), "restrack-report");
  EXPECT_EQ(root.at("version").as_int64(), 2);
  EXPECT_GT(root.at("pid").as_int64(), 0);
  EXPECT_NE(root.at("program").as_string().find("exit_probe"), boost::json::string::npos);
  EXPECT_EQ(root.at("options").at("trace_depth").as_int64(), 3);
  EXPECT_EQ(root.at("options").at("action").as_string(), "warn");
  EXPECT_EQ(root.at("counts").at("dispatched").to_number<std::uint64_t>(), 2u);

  // Every trace once, in a table; entries refer to them by id.
  std::map<std::int64_t, const boost::json::array*> traces;
  for (const boost::json::value& trace : root.at("traces").as_array()) {
    traces[trace.at("id").as_int64()] = &trace.at("frames").as_array();
  }
  const boost::json::array& modules = root.at("modules").as_array();
  auto frames_of = [&](const boost::json::value& entry,
                       const char* key) -> const boost::json::array& {
    return *traces.at(entry.at(key).as_int64());
  };

  // Two diagnostics: leak_one() in main, then the static `kept` destroyed at exit.
  const boost::json::array& diagnostics = root.at("diagnostics").as_array();
  ASSERT_EQ(diagnostics.size(), 2u);
  const boost::json::object& first = diagnostics[0].as_object();
  EXPECT_EQ(first.at("type").as_string(), "unclosed");
  EXPECT_EQ(first.at("kind").as_string(), "socket");
  EXPECT_TRUE(first.at("description").as_string().subview().starts_with(description_prefix()))
      << first.at("description").as_string();
  EXPECT_EQ(first.at("location").as_string(), "tests/tracker/exit_probe.cc:26");
  EXPECT_FALSE(first.contains("message"));
  const boost::json::array& frames = frames_of(first, "allocation_trace");
  ASSERT_EQ(frames.size(), 3u);
  const boost::json::object& frame = frames[0].as_object();
  EXPECT_EQ(frame.at("function").as_string(), "(anonymous namespace)::open_socket()");
  EXPECT_EQ(frame.at("file").as_string(), "tests/tracker/exit_probe.cc");
  EXPECT_EQ(frame.at("line").as_int64(), 14);
  const boost::json::object& module = modules.at(frame.at("module").as_int64()).as_object();
  EXPECT_NE(module.at("path").as_string().find("exit_probe"), boost::json::string::npos);
  EXPECT_EQ(module.at("build_id").as_string().size(), 40u);  // a SHA-1 build id, in hex
  // The module offset lets another machine symbolize the raw address.
  const auto address = std::stoull(std::string(frame.at("address").as_string()), nullptr, 16);
  const auto offset = std::stoull(std::string(frame.at("offset").as_string()), nullptr, 16);
  EXPECT_GT(address, offset);
  EXPECT_EQ(frames[1].at("function").as_string(), "(anonymous namespace)::leak_one()");
  EXPECT_EQ(frames[2].at("function").as_string(), "main");
  EXPECT_FALSE(frames_of(first, "site_trace").empty());
  EXPECT_EQ(diagnostics[1].at("type").as_string(), "unclosed");  // the static `kept`
  EXPECT_EQ(diagnostics[1].at("location").as_string(),
            restrack_test::exit_location("tests/tracker/exit_probe.cc:36"));
  EXPECT_EQ(frames_of(diagnostics[1], "allocation_trace")[1].at("line").as_int64(), 36);

  // The heap handle that was never destroyed is in the live set at exit.
  const boost::json::array& live = root.at("live").as_array();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].at("kind").as_string(), "socket");
  EXPECT_EQ(frames_of(live[0], "allocation_trace")[1].at("line").as_int64(), 38);
}

TEST(ExitTest, UnwritableReportPathIsNamedAndNoDiagnosticIsLost) {
  const ProcessResult result = run_probe("leak", "report=/nonexistent/dir/report.json");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.err.find("restrack: cannot write report file '/nonexistent/dir/report.json'"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("ResourceWarning: unclosed socket"), std::string::npos);
}

TEST(ExitTest, BadOptionsInTheEnvironmentAreNamedOnceAndDefaultsApply) {
  const ProcessResult result = run_probe("leak", "trace_depth=many");
  EXPECT_EQ(result.exit_code, 0);
  const std::string message =
      "restrack: RESTRACK_OPTIONS: bad value 'many' for option 'trace_depth' (expected a "
      "number from 0 to 64)\n";
  ASSERT_NE(result.err.find(message), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find(message, result.err.find(message) + 1), std::string::npos);
  EXPECT_NE(result.err.find("Object allocated at (most recent call first):"), std::string::npos);
}

}  // namespace
