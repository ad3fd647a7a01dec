// restrack-report as users run it: child programs leak for real and write reports (a
// CI-shaped run: two programs, one of them a GoogleTest suite in three shards), the tool
// runs as a child process on them, and its output, messages and exit status are checked
// exactly. Source lines are found by the "marker:" comments in programs/.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/convert.h"
#include "support/process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPrograms = "tests/report/programs/";
const std::string kLeaker = kPrograms + "service_leaker.cc";
const std::string kSuite = kPrograms + "sharded_suite.cc";
const std::string kWidget =
    "Widget::Widget(char const*, restrack::Kind const&) at " + kPrograms + "widget.cc:4";

// "tests/report/programs/<file>:<line>" for the line of `file` holding `marker`.
std::string at(const std::string& file, std::string_view marker) {
  std::ifstream source(std::string(SOURCE_DIR) + "/" + file);
  std::string line;
  for (int number = 1; std::getline(source, line); ++number) {
    if (line.find("// marker: " + std::string(marker)) != std::string::npos) {
      return file + ":" + std::to_string(number);
    }
  }
  ADD_FAILURE() << "no marker '" << marker << "' in " << file;
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

// Passes if `expected` occur as consecutive lines of `text`.
::testing::AssertionResult has_lines(std::string_view text,
                                     const std::vector<std::string>& expected) {
  const std::vector<std::string> lines = lines_of(text);
  for (std::size_t first = 0; first + expected.size() <= lines.size(); ++first) {
    if (std::equal(expected.begin(), expected.end(),
                   lines.begin() + static_cast<std::ptrdiff_t>(first))) {
      return ::testing::AssertionSuccess();
    }
  }
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "these lines:\n";
  for (const std::string& line : expected) failure << line << '\n';
  return failure << "are not in:\n" << text;
}

ProcessResult tool(const std::vector<std::string>& arguments) {
  return run_process(RESTRACK_REPORT, arguments);
}

// Seconds since the epoch of a file's last change, as text; "" if it does not exist.
std::string modified(const std::string& file) {
  std::error_code ec;
  const auto time = fs::last_write_time(file, ec);
  return ec ? std::string() : std::to_string(time.time_since_epoch().count());
}

// Holds an exclusive lock on `dir`/.lock while alive: the ctest processes that run this
// suite's tests in parallel share one set of fixtures, made by whichever comes first.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir) {
    fs::create_directories(dir);
    fd_ = ::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  int fd_ = -1;
};

// The reports of one CI-shaped run, under `dir`:
//   ci/   as the tracker wrote them (schema 2; the suite's shards name the test each
//         problem was blamed on)
//   v1/   the same five in schema 1, as trackers before version 2 wrote them
//   v2/   the same five without symbols (a writer that could not symbolize)
void make_fixtures(const std::string& dir) {
  const auto at_dir = [&](const std::string& name) { return dir + "/" + name; };
  for (const char* sub : {"v1", "ci", "v2", "empty"}) {
    fs::remove_all(at_dir(sub));
    fs::create_directories(at_dir(sub));
  }
  const auto written = [&](const std::string& name) {
    return "RESTRACK_OPTIONS=report_at_exit=1:report=" + at_dir("ci/" + name + ".json");
  };
  const auto leaker = [&](const std::string& name, const std::vector<std::string>& words) {
    const ProcessResult run = run_process(SERVICE_LEAKER, words, {written(name)});
    ASSERT_EQ(run.exit_code, 0) << run.err;
  };
  leaker("service-1", {"unclosed", "twice", "open", "after-close"});
  leaker("service-2", {"unclosed", "cache"});
  for (int shard = 0; shard < 3; ++shard) {
    const std::string name = "suite-" + std::to_string(shard);
    const ProcessResult run = run_process(
        SHARDED_SUITE, {"--gtest_color=no"},
        {"GTEST_TOTAL_SHARDS=3", "GTEST_SHARD_INDEX=" + std::to_string(shard), written(name)});
    ASSERT_EQ(run.exit_code, 1) << run.out;  // the listener fails the tests that leak
  }
  for (const char* name : {"service-1", "service-2", "suite-0", "suite-1", "suite-2"}) {
    const std::string report = read_file(at_dir(std::string("ci/") + name + ".json"));
    write_file(at_dir(std::string("v1/") + name + ".json"), as_version_1(report));
    write_file(at_dir(std::string("v2/") + name + ".json"), without_symbols(report));
  }
}

// Fixtures are made once: in RESTRACK_REPORT_FIXTURES (CTest sets it, so that its
// processes share them) while the programs that wrote them are unchanged, else in this
// process's scratch folder. What a test writes goes to its scratch folder. They are made
// in SetUp, not SetUpTestSuite: GoogleTest reports the tests of a suite whose set-up
// failed as skipped, and CTest would count them as such instead of as failures.
class ReportTool : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "restrack_report_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    scratch_ = new std::string(pattern);
    const char* shared = std::getenv("RESTRACK_REPORT_FIXTURES");
    dir_ = new std::string(shared != nullptr ? shared : *scratch_);
  }

  void SetUp() override {
    if (fixtures_made_) return;
    const DirectoryLock lock(*dir_);
    const std::string stamp =
        modified(SERVICE_LEAKER) + " " + modified(SHARDED_SUITE) + " " + modified("/proc/self/exe");
    if (read_file(path("complete")) != stamp) {
      fs::remove(path("complete"));
      make_fixtures(*dir_);
      ASSERT_FALSE(HasFatalFailure()) << "the report fixtures could not be made";
      write_file(path("complete"), stamp);
    }
    fixtures_made_ = true;
  }

  // RESTRACK_REPORT_KEEP_FIXTURES=1 keeps this process's scratch folder for a look.
  static void TearDownTestSuite() {
    std::error_code ec;
    if (std::getenv("RESTRACK_REPORT_KEEP_FIXTURES") == nullptr) fs::remove_all(*scratch_, ec);
    delete scratch_;
    delete dir_;
  }

  // A fixture (read only).
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  // A file of this test's own.
  static std::string scratch(const std::string& name) { return *scratch_ + "/" + name; }

  static std::string* dir_;
  static std::string* scratch_;
  static bool fixtures_made_;
};

std::string* ReportTool::dir_ = nullptr;
std::string* ReportTool::scratch_ = nullptr;
bool ReportTool::fixtures_made_ = false;

TEST_F(ReportTool, TextOutputOfOneReportIsExact) {
  const std::string report = path("ci/service-1.json");
  const ProcessResult run = tool({report});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "");
  const std::string opener =
      "(anonymous namespace)::open_connection() at " + at(kLeaker, "open_connection");
  const std::string twice =
      "(anonymous namespace)::close_twice() at " + at(kLeaker, "close_twice opens");
  const std::string listener =
      "(anonymous namespace)::keep_listener() at " + at(kLeaker, "keep_listener");
  EXPECT_EQ(
      run.out,
      "restrack-report: 4 problems at 4 sites in 1 process (1 program)\n"
      "\n"
      "  #  problem           kind    count  processes  allocated at\n"
      "  1  unclosed          handle      1          1  " +
          opener +
          "\n"
          "  2  closed twice      handle      1          1  " +
          twice +
          "\n"
          "  3  used after close  widget      1          1  " +
          kWidget +
          "\n"
          "  4  open at exit      socket      1          1  " +
          listener +
          "\n"
          "\n"
          "Sites:\n"
          "\n"
          "[1] unclosed handle: 1 problem in 1 process (new)\n"
          "    programs: report_service_leaker (1)\n"
          "    " +
          at(kLeaker, "connection destroyed") +
          ": ResourceWarning: unclosed handle <fd=20 /dev/null>\n"
          "    Object allocated at (most recent call first):\n"
          "      #0 " +
          opener +
          "\n"
          "      #1 (anonymous namespace)::serve_connection() at " +
          at(kLeaker, "serve_connection") +
          "\n"
          "      #2 (anonymous namespace)::handle_request(std::function<void ()> const&) at " +
          at(kLeaker, "handle_request") +
          "\n"
          "      #3 main at " +
          at(kLeaker, "main request") +
          "\n"
          "\n"
          "[2] closed twice handle: 1 problem in 1 process (new)\n"
          "    programs: report_service_leaker (1)\n"
          "    " +
          at(kLeaker, "close_twice second close") +
          ": ResourceWarning: handle closed twice <fd=21 (closed)>\n"
          "    Object allocated at (most recent call first):\n"
          "      #0 " +
          twice +
          "\n"
          "      #1 main at " +
          at(kLeaker, "main twice") +
          "\n"
          "    First closed at (most recent call first):\n"
          "      #0 (anonymous namespace)::close_twice() at " +
          at(kLeaker, "close_twice first close") +
          "\n"
          "      #1 main at " +
          at(kLeaker, "main twice") +
          "\n"
          "\n"
          "[3] used after close widget: 1 problem in 1 process (new)\n"
          "    programs: report_service_leaker (1)\n"
          "    " +
          kPrograms +
          "widget.cc:13: ResourceWarning: widget used after close <used-after-close>\n"
          "    Object allocated at (most recent call first):\n"
          "      #0 " +
          kWidget +
          "\n"
          "      #1 (anonymous namespace)::use_after_close() at " +
          at(kLeaker, "use_after_close opens") +
          "\n"
          "      #2 main at " +
          at(kLeaker, "main after-close") +
          "\n"
          "    First closed at (most recent call first):\n"
          "      #0 Widget::close() at " +
          kPrograms +
          "widget.cc:11\n"
          "      #1 (anonymous namespace)::use_after_close() at " +
          at(kLeaker, "use_after_close closes") +
          "\n"
          "      #2 main at " +
          at(kLeaker, "main after-close") +
          "\n"
          "\n"
          "[4] open at exit socket: 1 problem in 1 process (new)\n"
          "    programs: report_service_leaker (1)\n"
          "    " +
          at(kLeaker, "keep_listener") +
          ": ResourceWarning: socket still open at exit <fd=22 /dev/null>\n"
          "    Object allocated at (most recent call first):\n"
          "      #0 " +
          listener +
          "\n"
          "      #1 main at " +
          at(kLeaker, "main open") + "\n");
}

TEST_F(ReportTool, MergesProgramsAndShardsIntoSitesWithTheirTests) {
  const ProcessResult run = tool({path("ci")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "");
  const std::string opener =
      "(anonymous namespace)::open_connection() at " + at(kLeaker, "open_connection");
  EXPECT_TRUE(has_lines(
      run.out,
      {"restrack-report: 10 problems at 7 sites in 5 processes (2 programs)", "",
       "  #  problem           kind    count  processes  tests  allocated at",
       "  1  unclosed          widget      3          3      3  " + kWidget,
       "  2  unclosed          handle      2          2      0  " + opener,
       "  3  closed twice      handle      1          1      0  (anonymous "
       "namespace)::close_twice() at " +
           at(kLeaker, "close_twice opens"),
       "  4  used after close  widget      1          1      0  " + kWidget,
       "  5  open at exit      socket      1          1      0  (anonymous "
       "namespace)::keep_listener() at " +
           at(kLeaker, "keep_listener"),
       "  6  unclosed          handle      1          1      0  (anonymous "
       "namespace)::fill_cache() at " +
           at(kLeaker, "fill_cache"),
       "  7  open at exit      gadget      1          1      1  " + kWidget, "",
       "Problems by test:", "  test                    problems  sites",
       "  (no test)                      6      5", "  Cache.KeepsAnEntryOpen         1      1",
       "  Parser.ReadsBody               1      1", "  Parser.ReadsHeader             1      1",
       "  Parser.ReadsTrailer            1      1"}));
  // One site, three tests, three call paths: the whole traces under the first frame.
  EXPECT_TRUE(has_lines(run.out, {"[1] unclosed widget: 3 problems in 3 processes (new)",
                                  "    programs: report_sharded_suite (3)",
                                  "    tests: Parser.ReadsBody (1), Parser.ReadsHeader (1), "
                                  "Parser.ReadsTrailer (1)"}));
  EXPECT_THAT(run.out, HasSubstr("    and 2 other allocation traces through this site"));
}

TEST_F(ReportTool, FiltersByTestWithGoogleTestSyntax) {
  const ProcessResult run = tool({"--test=Parser.*-Parser.ReadsBody", "--top=0", path("ci")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out,
            "restrack-report: 2 problems at 1 site in 5 processes (2 programs)\n"
            "\n"
            "  #  problem   kind    count  processes  tests  allocated at\n"
            "  1  unclosed  widget      2          2      2  " +
                kWidget +
                "\n"
                "\n"
                "Problems by test:\n"
                "  test                 problems  sites\n"
                "  Parser.ReadsHeader          1      1\n"
                "  Parser.ReadsTrailer         1      1\n");
}

TEST_F(ReportTool, FiltersByKindAndType) {
  const ProcessResult run =
      tool({"--kind=handle", "--type=unclosed,closed_twice", "--top=0", path("ci")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("restrack-report: 4 problems at 3 sites in 5 processes"));
}

TEST_F(ReportTool, EverySchemaVersionAndSymbolStateReadsAlike) {
  // The v2 reports without symbols carry only module + offset; the tool symbolizes them
  // from the binaries and must arrive at exactly what the tracker printed.
  const ProcessResult written = tool({"--top=100", path("ci")});
  const ProcessResult v2 = tool({"--top=100", path("v2")});
  EXPECT_EQ(written.exit_code, 1);
  EXPECT_THAT(written.out, HasSubstr("restrack-report: 10 problems at 7 sites in 5 processes"));
  EXPECT_EQ(v2.err, "");
  EXPECT_EQ(v2.exit_code, 1);
  EXPECT_EQ(v2.out, written.out);
  // Schema 1 has no test names: the service's reports, which have none either, read the
  // same in both versions.
  const ProcessResult v1 = tool({"--top=100", path("v1") + "/service-*.json"});
  EXPECT_EQ(v1.err, "");
  EXPECT_EQ(v1.out, tool({"--top=100", path("ci") + "/service-*.json"}).out);
}

TEST_F(ReportTool, GlobPatternsSelectReports) {
  const ProcessResult run = tool({"--top=0", path("ci") + "/suite-*.json"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out,
              HasSubstr("restrack-report: 4 problems at 2 sites in 3 processes (1 program)"));
}

// ---- Offline symbolization ------------------------------------------------------------

class OfflineSymbolization : public ReportTool {
 protected:
  // Runs the raw-frame writer: its live warning on stderr, and a v2 report with only
  // module + offset for every captured address.
  void SetUp() override {
    ReportTool::SetUp();
    const ProcessResult run = run_process(RAW_TRACE_WRITER, {scratch("raw.json")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    warning_ = run.err;
    report_ = json::parse(read_file(scratch("raw.json"))).as_object();
  }

  // The `which`th "Object allocated at" block of a text, without indentation.
  static std::vector<std::string> allocation_block(std::string_view text, int which = 0) {
    std::vector<std::string> block;
    bool inside = false;
    for (std::string line : lines_of(text)) {
      line.erase(0, line.find_first_not_of(' '));
      if (line.starts_with("Object allocated at") && which-- == 0) inside = true;
      if (inside && !line.empty() && !line.starts_with("Object") && !line.starts_with("#")) break;
      if (inside) block.push_back(line);
    }
    return block;
  }

  // The frames of the report's `trace`th trace as restrack-report symbolizes them, each
  // "function at file:line".
  std::vector<std::string> offline_frames(std::size_t trace) {
    const ProcessResult run = tool({"--format=json", scratch("raw.json")});
    EXPECT_EQ(run.err, "");
    const json::value doc = json::parse(run.out);
    const json::array& traces = doc.at("sites").as_array()[0].at("traces").as_array();
    EXPECT_GT(traces.size(), trace);
    std::vector<std::string> frames;
    if (traces.size() <= trace) return frames;
    for (const json::value& frame : traces[trace].at("frames").as_array()) {
      frames.push_back(std::string(frame.at("function").as_string()) + " at " +
                       std::string(frame.at("file").as_string()) + ":" +
                       std::to_string(frame.at("line").as_int64()));
    }
    return frames;
  }

  json::object report_;
  std::string warning_;
};

TEST_F(OfflineSymbolization, GivesTheFramesOfTheLiveWarning) {
  const std::vector<std::string> live = allocation_block(warning_);
  ASSERT_EQ(live.size(), 6u) << warning_;  // the heading and five frames
  const ProcessResult run = tool({scratch("raw.json")});
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(allocation_block(run.out), live);
}

TEST_F(OfflineSymbolization, ExpandsInlinedCallsIntoFramesOfTheirOwn) {
  // The inlined helper is a frame at its own line, and the lambda that called it stands
  // at the call (addr2line -i reads the same).
  const std::string writer = kPrograms + "raw_trace_writer.cc";
  EXPECT_EQ(
      offline_frames(1),
      (std::vector<std::string>{
          kWidget, "(anonymous namespace)::make_and_drop at " + at(writer, "raw make_and_drop"),
          "main::{lambda()#2}::operator()() const at " + at(writer, "raw main inlined"),
          "(anonymous namespace)::serve(std::function<void ()> const&) at " +
              at(writer, "raw serve"),
          "main at " + at(writer, "raw main inlined")}));
}

TEST_F(OfflineSymbolization, NamesInlinedCallsAsTheLiveWarningDoes) {
  // make_and_drop was only ever inlined, so GCC gives it no linkage name: its namespace
  // comes from the scopes around its declaration, offline as live.
  std::vector<std::string> live = allocation_block(warning_, 1);
  ASSERT_EQ(live.size(), 6u) << warning_;
  live.erase(live.begin());                                             // the heading
  for (std::string& frame : live) frame.erase(0, frame.find(' ') + 1);  // "#N "
  EXPECT_EQ(offline_frames(1), live);
}

TEST_F(OfflineSymbolization, FindsBinariesOnTheSearchPath) {
  // The report names a build folder that is gone; the binary is in another one.
  const std::string program(report_["program"].as_string());
  fs::create_directories(scratch("bin"));
  fs::copy_file(program, scratch("bin/report_raw_trace_writer"),
                fs::copy_options::overwrite_existing);
  report_["modules"].as_array()[0].as_object()["path"] = scratch("gone/report_raw_trace_writer");
  write_file(scratch("moved.json"), json::serialize(report_));
  const ProcessResult run =
      tool({"--search-path=" + path("empty") + ":" + scratch("bin"), scratch("moved.json")});
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(allocation_block(run.out), allocation_block(warning_));
}

TEST_F(OfflineSymbolization, NamesAMissingBinaryOnceAndKeepsModuleAndOffset) {
  const std::string gone = scratch("gone/report_raw_trace_writer");
  report_["modules"].as_array()[0].as_object()["path"] = gone;
  write_file(scratch("missing.json"), json::serialize(report_));
  const ProcessResult run = tool({"--search-path=" + path("empty"), scratch("missing.json")});
  EXPECT_EQ(run.err, "restrack-report: no binary for " + gone + " (looked for " +
                         path("empty/report_raw_trace_writer") + ", " + gone +
                         "); its frames stay module+offset\n");
  const json::object& frame =
      report_["traces"].as_array()[0].as_object()["frames"].as_array()[0].as_object();
  EXPECT_THAT(run.out,
              HasSubstr("      #0 " + std::string(frame.at("address").as_string()) + " in " + gone +
                        "+" + std::string(frame.at("offset").as_string()) + "\n"));
}

TEST_F(OfflineSymbolization, RefusesABinaryWithAnotherBuildId) {
  const std::string program(report_["program"].as_string());
  const std::string real_id = read_build_id(program);
  ASSERT_EQ(real_id.size(), 40u);
  report_["modules"].as_array()[0].as_object()["build_id"] = "00112233445566778899";
  write_file(scratch("rebuilt.json"), json::serialize(report_));
  const ProcessResult run = tool({scratch("rebuilt.json")});
  EXPECT_EQ(run.err, "restrack-report: build id mismatch for " + program +
                         ": the report has 00112233445566778899, " + program + " has build id " +
                         real_id + "; its frames stay module+offset\n");
  EXPECT_THAT(run.out, Not(HasSubstr("Widget::Widget")));
}

// ---- Bad input -------------------------------------------------------------------------

TEST_F(ReportTool, TruncatedReportIsSkippedNamingFileAndJsonPath) {
  const std::string text = read_file(path("ci/service-2.json"));
  // Cut inside the second diagnostic's "type" value.
  const std::size_t second = text.find("{\"type\":\"", text.find("{\"type\":\"") + 1);
  ASSERT_NE(second, std::string::npos);
  const std::string cut = text.substr(0, second + 12);
  write_file(scratch("truncated.json"), cut);
  const ProcessResult run = tool({"--top=0", scratch("truncated.json"), path("ci/service-1.json")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "restrack-report: " + scratch("truncated.json") +
                         ": $.diagnostics[1].type: incomplete JSON at line 1, column " +
                         std::to_string(cut.size() + 1) + " (skipped)\n");
  // The other report still counts.
  EXPECT_THAT(run.out, HasSubstr("restrack-report: 4 problems at 4 sites in 1 process"));
  EXPECT_THAT(run.out, HasSubstr("skipped 1 unreadable report:\n  " + scratch("truncated.json") +
                                 ": $.diagnostics[1].type: incomplete JSON"));
}

TEST_F(ReportTool, WrongTypeNamesTheJsonPath) {
  std::string text = read_file(path("ci/service-1.json"));
  const std::string line_field = "\"line\":";
  const std::size_t first_line = text.find(line_field);
  const std::size_t value_end = text.find('}', first_line);
  text.replace(first_line, value_end - first_line, "\"line\":\"nineteen\"");
  write_file(scratch("wrong.json"), text);
  const ProcessResult run = tool({scratch("wrong.json")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "restrack-report: " + scratch("wrong.json") +
                         ": $.traces[0].frames[0].line: expected a non-negative integer, found a "
                         "string (skipped)\n");
}

TEST_F(ReportTool, RefusesANewerSchemaVersionNamingBoth) {
  std::string text = read_file(path("ci/service-1.json"));
  text.replace(text.find("\"version\":2"), 11, "\"version\":3");
  write_file(scratch("v3.json"), text);
  const ProcessResult run = tool({scratch("v3.json")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "restrack-report: " + scratch("v3.json") +
                         ": $.version: schema version 3 is newer than this restrack-report reads "
                         "(versions 1 to 2); use a newer restrack-report (skipped)\n");
}

TEST_F(ReportTool, NoInputIsAnErrorInOneLine) {
  const ProcessResult run = tool({});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "restrack-report: no reports given; name report files, directories or glob "
            "patterns (see --help)\n");
}

TEST_F(ReportTool, InputsThatHoldNoReportAreAnErrorInOneLine) {
  const ProcessResult run = tool({path("empty"), scratch("nothing-*.json")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "restrack-report: no reports to read (" + path("empty") +
                         ": no *.json file in this directory; " + scratch("nothing-*.json") +
                         ": no file matches)\n");
}

TEST_F(ReportTool, UnknownFlagIsBadUsage) {
  const ProcessResult run = tool({"--colour=always", path("ci")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "restrack-report: unknown flag --colour (see --help)\n");
}

TEST_F(ReportTool, HelpListsEveryFlagWithItsMeaning) {
  const ProcessResult run = tool({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag :
       {"--format=FORMAT", "--json=FILE", "--sarif=FILE", "--html=FILE", "--baseline=FILE",
        "--write-baseline=FILE", "--search-path=DIRS", "--source-root=DIR", "--test=FILTER",
        "--kind=KINDS", "--type=TYPES", "--live", "--top=N", "--color=WHEN", "--help"}) {
    EXPECT_TRUE(has_lines(run.out, {std::string("  ") + flag})) << flag;
  }
  EXPECT_THAT(run.out, HasSubstr("Exit status: 0 nothing new, 1 new problems, 2 bad usage or "
                                 "unreadable input."));
}

// ---- Baselines and exit status ---------------------------------------------------------

TEST_F(ReportTool, ReadsTheProblemTypesOfRestrackRunAndTheProactor) {
  // The service's report with three of its problems retyped as restrack-run and the
  // proactor write them: each is read, grouped and printed as the tracker prints it.
  json::object report = json::parse(read_file(path("ci/service-1.json"))).as_object();
  for (json::value& entry : report.at("diagnostics").as_array()) {
    json::value& type = entry.as_object()["type"];
    if (type == "unclosed") type = "closed_behind_owner";
    if (type == "closed_twice") type = "closed_not_open";
    if (type == "used_after_close") type = "exception_never_retrieved";
  }
  write_file(scratch("types.json"), json::serialize(report));
  const ProcessResult run = tool({"--top=3", scratch("types.json")});
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.exit_code, 1);
  const std::string connection =
      "(anonymous namespace)::serve_connection() at " + at(kLeaker, "connection destroyed");
  EXPECT_TRUE(has_lines(
      run.out, {"[1] closed behind owner handle: 1 problem in 1 process (new)",
                "    programs: report_service_leaker (1)",
                "    " + at(kLeaker, "connection destroyed") +
                    ": ResourceWarning: handle closed behind its owner's back <fd=20 /dev/null>"}));
  EXPECT_TRUE(
      has_lines(run.out, {"    Closed at (most recent call first):", "      #0 " + connection}));
  EXPECT_THAT(run.out, HasSubstr("ResourceWarning: handle closed while not open <fd=21 (closed)>\n"
                                 "    Object allocated at"));
  EXPECT_THAT(run.out, HasSubstr("ResourceWarning: widget exception was never retrieved"));
  const ProcessResult filtered =
      tool({"--type=closed_not_open,closed_behind_owner", "--top=0", scratch("types.json")});
  EXPECT_THAT(filtered.out, HasSubstr("restrack-report: 2 problems at 2 sites in 1 process"));
  const ProcessResult sarif = tool({"--format=sarif", scratch("types.json")});
  for (const char* rule : {"restrack/closed-behind-owner", "restrack/closed-not-open",
                           "restrack/exception-never-retrieved"}) {
    EXPECT_THAT(sarif.out, HasSubstr(std::string("\"ruleId\":\"") + rule + "\""));
  }
}

TEST_F(ReportTool, NothingReportedExitsZero) {
  const ProcessResult clean =
      run_process(SERVICE_LEAKER, {}, {"RESTRACK_OPTIONS=report=" + scratch("clean.json")});
  ASSERT_EQ(clean.exit_code, 0);
  const ProcessResult run = tool({scratch("clean.json")});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "restrack-report: 0 problems at 0 sites in 1 process (1 program)\n");
}

TEST_F(ReportTool, LiveSetCountsOnlyWhenAsked) {
  // Without report_at_exit the process lists what was open at exit, but reports nothing.
  const ProcessResult open =
      run_process(SERVICE_LEAKER, {"open"}, {"RESTRACK_OPTIONS=report=" + scratch("live.json")});
  ASSERT_EQ(open.exit_code, 0);
  const ProcessResult plain = tool({"--top=0", scratch("live.json")});
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.out, "restrack-report: 0 problems at 0 sites in 1 process (1 program)\n");
  const ProcessResult live = tool({"--live", "--top=0", scratch("live.json")});
  EXPECT_EQ(live.exit_code, 1);
  EXPECT_EQ(live.out,
            "restrack-report: 1 problem at 1 site in 1 process (1 program)\n"
            "\n"
            "  #  problem       kind    count  processes  allocated at\n"
            "  1  open at exit  socket      1          1  (anonymous namespace)::keep_listener() "
            "at " +
                at(kLeaker, "keep_listener") + "\n");
  // A process that reported it itself (report_at_exit=1) does not count it twice.
  EXPECT_THAT(tool({"--live", "--top=0", path("ci/service-1.json")}).out,
              HasSubstr("restrack-report: 4 problems at 4 sites"));
}

TEST_F(ReportTool, BaselineCountsOnlyNewTracesAndListsFixedOnes) {
  const std::string baseline = scratch("baseline.json");
  const ProcessResult write = tool({"--write-baseline", baseline, path("ci/service-1.json")});
  EXPECT_EQ(write.exit_code, 0);
  const ProcessResult same = tool({"--baseline=" + baseline, "--top=0", path("ci/service-1.json")});
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_THAT(same.out, HasSubstr("; new since the baseline: 0 problems at 0 sites; fixed: 0 "
                                  "allocation traces\n"));
  // service-2 repeats the unclosed connection and adds the cache entry.
  const ProcessResult later =
      tool({"--baseline=" + baseline, "--top=0", path("ci/service-2.json")});
  EXPECT_EQ(later.exit_code, 1);
  const std::string opener =
      "(anonymous namespace)::open_connection() at " + at(kLeaker, "open_connection");
  EXPECT_EQ(
      later.out,
      "restrack-report: 2 problems at 2 sites in 1 process (1 program); new since the "
      "baseline: 1 problem at 1 site; fixed: 3 allocation traces\n"
      "\n"
      "  #  status  problem   kind    count  processes  allocated at\n"
      "  1  known   unclosed  handle      1          1  " +
          opener +
          "\n"
          "  2  new     unclosed  handle      1          1  (anonymous namespace)::fill_cache() "
          "at " +
          at(kLeaker, "fill_cache") +
          "\n"
          "\n"
          "Fixed since the baseline (3):\n"
          "  closed twice handle: (anonymous namespace)::close_twice() in " +
          kLeaker + " <- main in " + kLeaker +
          "\n"
          "  open at exit socket: (anonymous namespace)::keep_listener() in " +
          kLeaker + " <- main in " + kLeaker +
          "\n"
          "  used after close widget: Widget::Widget(char const*, restrack::Kind const&) in " +
          kPrograms + "widget.cc <- (anonymous namespace)::use_after_close() in " + kLeaker +
          " <- main in " + kLeaker + "\n");
}

TEST_F(ReportTool, UnreadableBaselineIsBadInput) {
  write_file(scratch("bad-baseline.json"),
             "{\"schema\":\"restrack-report-baseline\",\"version\":1}");
  const ProcessResult run = tool({"--baseline=" + scratch("bad-baseline.json"), path("ci")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "restrack-report: " + scratch("bad-baseline.json") + ": $.traces: expected an array\n");
}

TEST_F(ReportTool, ColourOnlyWhenAskedOrOnATerminal) {
  EXPECT_THAT(tool({path("ci")}).out, Not(HasSubstr("\033[")));
  EXPECT_THAT(tool({"--color=always", path("ci")}).out,
              HasSubstr("\033[1mrestrack-report: 10 problems"));
}

// ---- JSON ------------------------------------------------------------------------------

TEST_F(ReportTool, JsonIsTheVersionedMergedModel) {
  const ProcessResult run = tool({"--format=json", path("ci")});
  EXPECT_EQ(run.exit_code, 1);
  const json::object doc = json::parse(run.out).as_object();
  EXPECT_EQ(doc.at("schema").as_string(), "restrack-report-merged");
  EXPECT_EQ(doc.at("version").as_int64(), 1);
  EXPECT_EQ(doc.at("inputs").at("reports").as_int64(), 5);
  EXPECT_EQ(doc.at("totals").at("problems").as_int64(), 10);
  EXPECT_EQ(doc.at("totals").at("sites").as_int64(), 7);
  const json::object& first = doc.at("sites").as_array()[0].as_object();
  EXPECT_EQ(first.at("type").as_string(), "unclosed");
  EXPECT_EQ(first.at("kind").as_string(), "widget");
  EXPECT_EQ(first.at("problems").as_int64(), 3);
  EXPECT_EQ(first.at("traces").as_array().size(), 3u);
  EXPECT_EQ(first.at("tests").as_array().size(), 3u);
  EXPECT_EQ(first.at("traces").as_array()[0].at("frames").as_array()[1].at("function").as_string(),
            "(anonymous namespace)::leak_buffer(char const*)");
  EXPECT_EQ(doc.at("tests").as_array()[0].at("test").as_string(), "");
  EXPECT_EQ(doc.at("tests").as_array()[0].at("problems").as_int64(), 6);
}

TEST_F(ReportTool, KeepsTheRawBytesOfStringsThatWereNotUtf8) {
  // A v2 writer replaces each byte that is not UTF-8 with U+FFFD and keeps the bytes in
  // X_base64; the merged JSON carries them on.
  json::object report = json::parse(read_file(path("ci/suite-0.json"))).as_object();
  json::object& first = report["diagnostics"].as_array()[0].as_object();
  first["description"] = "head\xef\xbf\xbdr";
  first["description_base64"] = "aGVhZP9y";
  write_file(scratch("raw-bytes.json"), json::serialize(report));
  const ProcessResult run = tool({"--format=json", scratch("raw-bytes.json")});
  const json::value doc = json::parse(run.out);
  const json::object& example = doc.at("sites").as_array()[0].at("example").as_object();
  EXPECT_EQ(example.at("description").as_string(), "head\xef\xbf\xbdr");
  EXPECT_EQ(example.at("description_base64").as_string(), "aGVhZP9y");
}

// ---- SARIF -----------------------------------------------------------------------------

const std::string kMultitool =
    std::string(NODE_TOOLS) + "/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool";

TEST_F(ReportTool, SarifPassesTheSarifMultitoolsValidation) {
  ASSERT_TRUE(fs::exists(kMultitool)) << "run tools/setup/install-node-tools.sh";
  const ProcessResult run = tool({"--sarif=" + scratch("ci.sarif"), path("ci")});
  EXPECT_EQ(run.exit_code, 1);
  // The Multitool is a .NET program: invariant globalization spares it a need for ICU.
  const ProcessResult validate = run_process(kMultitool, {"validate", scratch("ci.sarif")},
                                             {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"});
  EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
  EXPECT_THAT(validate.out, HasSubstr("Analysis completed successfully."));
  std::string errors;
  for (const std::string& line : lines_of(validate.out)) {
    if (line.find(": error ") != std::string::npos) errors += line + "\n";
  }
  EXPECT_EQ(errors, "");
}

TEST_F(ReportTool, SarifHasOneResultPerSiteWithTheTraceAsCodeFlow) {
  const std::string opener =
      "(anonymous namespace)::open_connection() at " + at(kLeaker, "open_connection");
  const ProcessResult run =
      tool({"--format=sarif", "--source-root=" + std::string(SOURCE_DIR), path("ci")});
  const json::object doc = json::parse(run.out).as_object();
  EXPECT_EQ(doc.at("version").as_string(), "2.1.0");
  const json::object& sarif_run = doc.at("runs").as_array()[0].as_object();
  EXPECT_EQ(sarif_run.at("originalUriBaseIds").at("SRCROOT").at("uri").as_string(),
            "file://" + std::string(SOURCE_DIR) + "/");
  const json::array& results = sarif_run.at("results").as_array();
  ASSERT_EQ(results.size(), 7u);
  const json::object& leak = results[1].as_object();  // the unclosed connection
  EXPECT_EQ(leak.at("ruleId").as_string(), "restrack/unclosed");
  EXPECT_EQ(leak.at("message").at("text").as_string(),
            "unclosed handle <fd=20 /dev/null>: 2 times in 2 processes.");
  const json::object& physical =
      leak.at("locations").as_array()[0].at("physicalLocation").as_object();
  EXPECT_EQ(physical.at("artifactLocation").at("uri").as_string(), kLeaker);
  EXPECT_EQ(physical.at("artifactLocation").at("uriBaseId").as_string(), "SRCROOT");
  EXPECT_EQ(std::to_string(physical.at("region").at("startLine").as_int64()),
            at(kLeaker, "open_connection").substr(kLeaker.size() + 1));
  // Execution order: main first, the allocation last.
  const json::array& steps =
      leak.at("codeFlows").as_array()[0].at("threadFlows").as_array()[0].at("locations").as_array();
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].at("location").at("message").at("text").as_string(),
            "main at " + at(kLeaker, "main request"));
  EXPECT_EQ(steps[3].at("location").at("message").at("text").as_string(), opener);
  EXPECT_EQ(steps[3].at("nestingLevel").as_int64(), 3);
}

// ---- HTML ------------------------------------------------------------------------------

// What html_check.mjs saw of the CI run's page, computed once: one browser start.
class HtmlPage : public ReportTool {
 protected:
  // Cached beside the fixtures while the tool and the script are unchanged: starting a
  // browser per test would cost seconds each.
  static const std::string& facts() {
    static const std::string* result = [] {
      const std::string script = std::string(REPORT_TESTS_DIR) + "/html_check.mjs";
      const std::string cache =
          path("html-facts-" + modified(RESTRACK_REPORT) + "-" + modified(script) + ".txt");
      const DirectoryLock lock(*dir_);
      if (fs::exists(cache)) return new std::string(read_file(cache));
      const std::string page = scratch("ci.html");
      tool({"--html=" + page, path("ci")});
      const ProcessResult check =
          run_process("node", {script, NODE_TOOLS, page, scratch("ci.png")});
      auto* text = new std::string(check.out + check.err);
      if (check.exit_code == 0) write_file(cache, *text);
      return text;
    }();
    return *result;
  }
};

TEST_F(HtmlPage, RendersWithoutNetworkOrScriptErrors) {
  ASSERT_TRUE(fs::exists(std::string(NODE_TOOLS) + "/node_modules/playwright-core"))
      << "run tools/setup/install-node-tools.sh";
  EXPECT_TRUE(has_lines(facts(), {"screenshot has more than 10 colours: true",
                                  "title: restrack report: 10 problems at 7 sites in 5 processes "
                                  "(2 programs)",
                                  "summary: 10 problems at 7 sites in 5 processes (2 programs)"}));
  EXPECT_TRUE(has_lines(facts(), {"script errors: 0", "network requests: 0"}));
}

TEST_F(HtmlPage, TableHasOneRowPerSite) {
  const std::string opener =
      "(anonymous namespace)::open_connection() at " + at(kLeaker, "open_connection");
  EXPECT_TRUE(has_lines(
      facts(),
      {"rows: 7",
       "row: 1 | unclosed | widget | 3 | 3 | Parser.ReadsBody (1), Parser.ReadsHeader (1), "
       "Parser.ReadsTrailer (1) | " +
           kWidget,
       "row: 2 | unclosed | handle | 2 | 2 | (no test) (2) | " + opener}));
}

TEST_F(HtmlPage, ExpandingATraceShowsItsFrames) {
  EXPECT_TRUE(has_lines(
      facts(),
      {"frames visible before expanding: false", "frames visible after expanding: true",
       "frame: " + kWidget,
       "frame: (anonymous namespace)::leak_buffer(char const*) at " + at(kSuite, "leak_buffer"),
       "frame: Parser_ReadsHeader_Test::TestBody() at " + at(kSuite, "ReadsHeader")}));
}

TEST_F(HtmlPage, FiltersByKindAndTestAndSorts) {
  EXPECT_TRUE(has_lines(facts(), {"after kind=handle: 3 of 7 sites shown",
                                  "after test=Parser.ReadsBody: 1 of 7 sites shown",
                                  "first row # after sorting by count ascending: 3"}));
}

}  // namespace
