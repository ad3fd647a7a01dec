// The Windows toolchain and the cross-built dependencies, used the way the tracker's
// Windows port will use them: built with mingw-w64, run under Wine by ctest
// (cmake/toolchain-mingw-w64.cmake, docs/windows.md).
#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <absl/synchronization/mutex.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json.hpp>
#include <boost/stacktrace.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

// Debian's Abseil makes absl::string_view a type of its own, not std::string_view
// (debian/patches/configure.diff). Code written against the Linux Abseil compiles here
// only if the cross-built one is the same patched source.
static_assert(!std::is_same_v<absl::string_view, std::string_view>,
              "the cross-built Abseil is not Debian's patched source");

TEST(WindowsToolchain, AbseilMutexGuardsAFlatHashMapAcrossThreads) {
  absl::Mutex mutex;
  absl::flat_hash_map<std::string, int> counts;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        absl::MutexLock lock(&mutex);
        ++counts[absl::StrCat("site", i % 10)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  absl::MutexLock lock(&mutex);
  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [site, count] : counts) EXPECT_EQ(count, 400) << site;
}

TEST(WindowsToolchain, AbseilSplitsAndJoinsStrings) {
  std::vector<std::string> options = absl::StrSplit("enabled=1:trace_depth=16", ':');
  EXPECT_EQ(options, (std::vector<std::string>{"enabled=1", "trace_depth=16"}));
  EXPECT_EQ(absl::StrJoin(options, ", "), "enabled=1, trace_depth=16");
}

TEST(WindowsToolchain, SpdlogFormatsWithTheCrossBuiltFmtAndEndsLinesWithCrLf) {
  std::ostringstream out;
  spdlog::logger logger("restrack", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger.set_pattern("%n: %v");
  logger.warn("unclosed {} <fd={}>", "handle", 7);
  EXPECT_EQ(out.str(), "restrack: unclosed handle <fd=7>\r\n");
}

TEST(WindowsToolchain, BoostJsonHeaderOnlyParsesAndSerializes) {
  const std::string text = R"({"schema_version":1,"live":[{"kind":"handle","line":57}]})";
  boost::json::value report = boost::json::parse(text);
  EXPECT_EQ(report.at("live").at(0).at("kind").as_string(), "handle");
  EXPECT_EQ(report.at("live").at(0).at("line").as_int64(), 57);
  EXPECT_EQ(boost::json::serialize(report), text);
}

// The line of CaptureHere's call into Boost.Stacktrace; CaptureHere sets it.
int capture_line = 0;

[[gnu::noinline]] boost::stacktrace::stacktrace CaptureHere() {
  capture_line = __LINE__ + 1;
  boost::stacktrace::stacktrace trace;
  return trace;
}

// The call sites of the trace's frames, innermost first. Boost.Stacktrace symbolizes a
// return address as it is, which may already belong to the line after the call; the
// call instruction ends one byte before it (as on Linux, the tracker asks for that).
std::vector<boost::stacktrace::frame> CallSites(const boost::stacktrace::stacktrace& trace) {
  std::vector<boost::stacktrace::frame> sites;
  for (const boost::stacktrace::frame& frame : trace) {
    sites.emplace_back(static_cast<const char*>(frame.address()) - 1);
  }
  return sites;
}

// The first frame whose function name is `function`, or nullptr.
const boost::stacktrace::frame* FindFrame(const std::vector<boost::stacktrace::frame>& frames,
                                          std::string_view function) {
  for (const boost::stacktrace::frame& frame : frames) {
    if (frame.name() == function) return &frame;
  }
  return nullptr;
}

TEST(WindowsToolchain, BoostStacktraceOnLibbacktraceNamesFunctionsWithFileAndLine) {
  const int call_line = __LINE__ + 1;
  const boost::stacktrace::stacktrace trace = CaptureHere();
  const std::vector<boost::stacktrace::frame> sites = CallSites(trace);
  const std::string printed =
      absl::StrJoin(sites, "\n", [](std::string* out, const boost::stacktrace::frame& frame) {
        out->append(boost::stacktrace::to_string(frame));
      });

  const boost::stacktrace::frame* capture =
      FindFrame(sites, "(anonymous namespace)::CaptureHere()");
  ASSERT_NE(capture, nullptr) << printed;
  EXPECT_EQ(capture->source_file(), "tests/windows/toolchain_smoke_test.cc") << printed;
  EXPECT_EQ(capture->source_line(), static_cast<std::size_t>(capture_line)) << printed;

  const boost::stacktrace::frame* caller =
      FindFrame(sites,
                "(anonymous namespace)::WindowsToolchain_"
                "BoostStacktraceOnLibbacktraceNamesFunctionsWithFileAndLine_Test::TestBody()");
  ASSERT_NE(caller, nullptr) << printed;
  EXPECT_EQ(caller->source_file(), "tests/windows/toolchain_smoke_test.cc") << printed;
  EXPECT_EQ(caller->source_line(), static_cast<std::size_t>(call_line)) << printed;
}

}  // namespace
