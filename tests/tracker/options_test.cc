// RESTRACK_OPTIONS parsing, actions and suppressions.
#include <pthread.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <optional>

#include "test_object.h"
#include "tracker_test.h"

using restrack_test::TrackerTest;

static restrack::TrackedFd open_socket(const restrack::Kind& kind = restrack::kinds::socket) {
  return restrack::TrackedFd(restrack_test::open_test_object(), kind);
}

static void leak(const restrack::Kind& kind = restrack::kinds::socket) {
  restrack::TrackedFd fd = open_socket(kind);  // one allocation site for every call
}

TEST(ParseOptionsTest, ReadsEveryKey) {
  std::vector<std::string> errors;
  const restrack::Options options = restrack::parse_options(
      "enabled=0:trace_depth=32:capture=dwarf:action=error:report=/tmp/r.%p.json:"
      "report_at_exit=1:exit_code=3:suppressions=/tmp/s.txt",
      restrack::Options{}, &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(options.enabled);
  EXPECT_EQ(options.trace_depth, 32);
  EXPECT_EQ(options.capture, restrack::CaptureMethod::dwarf);
  EXPECT_EQ(options.action, restrack::Action::error);
  EXPECT_EQ(options.report, "/tmp/r.%p.json");
  EXPECT_TRUE(options.report_at_exit);
  EXPECT_EQ(options.exit_code, 3);
  EXPECT_EQ(options.suppressions, "/tmp/s.txt");
}

TEST(ParseOptionsTest, UnknownKeyIsNamedAndTheRestStillApplies) {
  std::vector<std::string> errors;
  const restrack::Options options =
      restrack::parse_options("trace_dept=8:action=once", restrack::Options{}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "unknown option 'trace_dept' (known options: enabled, trace_depth, capture, action, "
            "report, report_at_exit, exit_code, suppressions)");
  EXPECT_EQ(options.trace_depth, 16);
  EXPECT_EQ(options.action, restrack::Action::once);
}

TEST(ParseOptionsTest, BadValuesAreNamedAndKeepTheirDefaults) {
  std::vector<std::string> errors;
  const restrack::Options options = restrack::parse_options(
      "trace_depth=65:action=loud:enabled=yes:exit_code=-1:capture=fast:report_at_exit",
      restrack::Options{}, &errors);
  ASSERT_EQ(errors.size(), 6u);
  EXPECT_EQ(errors[0], "bad value '65' for option 'trace_depth' (expected a number from 0 to 64)");
  EXPECT_EQ(errors[1],
            "bad value 'loud' for option 'action' (expected ignore, warn, once, error or abort)");
  EXPECT_EQ(errors[2], "bad value 'yes' for option 'enabled' (expected 0 or 1)");
  EXPECT_EQ(errors[3], "bad value '-1' for option 'exit_code' (expected a number from 0 to 255)");
  EXPECT_EQ(errors[4], "bad value 'fast' for option 'capture' (expected fp or dwarf)");
  EXPECT_EQ(errors[5], "option 'report_at_exit' has no value (expected key=value)");
  EXPECT_EQ(options.trace_depth, 16);
  EXPECT_EQ(options.action, restrack::Action::warn);
  EXPECT_TRUE(options.enabled);
  EXPECT_EQ(options.exit_code, 0);
}

using OptionsTest = TrackerTest;

TEST_F(OptionsTest, ApplyOptionsLogsOneMessagePerProblemAndKeepsGoing) {
  EXPECT_FALSE(restrack::apply_options("colour=red:trace_depth=4"));
  EXPECT_EQ(logged(),
            "restrack: unknown option 'colour' (known options: enabled, trace_depth, capture, "
            "action, report, report_at_exit, exit_code, suppressions)\n");
  EXPECT_EQ(restrack::current_options().trace_depth, 4);
  leak();
  EXPECT_EQ(captured_.texts().size(), 1u);  // no diagnostic lost
}

TEST_F(OptionsTest, ActionIgnoreDispatchesNothing) {
  ASSERT_TRUE(restrack::apply_options("action=ignore"));
  leak();
  EXPECT_TRUE(captured_.texts().empty());
  EXPECT_EQ(restrack::diagnostic_counts().dispatched, 0u);
}

TEST_F(OptionsTest, ActionWarnDispatchesEachWithoutCountingErrors) {
  ASSERT_TRUE(restrack::apply_options("action=warn"));
  for (int i = 0; i < 3; ++i) leak();
  EXPECT_EQ(captured_.texts().size(), 3u);
  EXPECT_EQ(restrack::error_count(), 0u);
}

TEST_F(OptionsTest, ActionOnceDispatchesTheFirstPerAllocationSite) {
  ASSERT_TRUE(restrack::apply_options("action=once"));
  for (int i = 0; i < 3; ++i) leak();
  restrack::TrackedFd other = open_socket();  // a second site
  other.close();
  other.close();
  EXPECT_EQ(captured_.texts().size(), 2u);
  const restrack::DiagnosticCounts counts = restrack::diagnostic_counts();
  EXPECT_EQ(counts.dispatched, 2u);
  EXPECT_EQ(counts.repeated, 2u);
}

TEST_F(OptionsTest, ActionErrorCountsEachAsAFailure) {
  ASSERT_TRUE(restrack::apply_options("action=error"));
  leak();
  leak();
  EXPECT_EQ(captured_.texts().size(), 2u);
  EXPECT_EQ(restrack::error_count(), 2u);
}

TEST(ActionAbortDeathTest, PrintsTheWarningThenAborts) {
  EXPECT_DEATH(
      {
        restrack::apply_options("action=abort:trace_depth=2");
        leak();
      },
      "ResourceWarning: unclosed socket <" + restrack_test::description_regex() +
          ">\nObject allocated at \\(most recent call first\\):\n  #0 "
          "open_socket\\(restrack::Kind const&\\) at tests/tracker/options_test.cc");
}

TEST_F(OptionsTest, EnabledZeroTracksNothing) {
  ASSERT_TRUE(restrack::apply_options("enabled=0"));
  const std::size_t before = restrack::live_count();
  restrack::TrackedFd fd = open_socket();
  EXPECT_EQ(restrack::live_count(), before);
  fd.close();
  fd.close();
  leak();
  EXPECT_TRUE(captured_.texts().empty());
}

class SuppressionsTest : public TrackerTest {
 protected:
  std::string write_file(const std::string& text) {
    // Relative, in the working directory: on Windows the ':' of a drive letter would end
    // the value in an options string.
    path_ = "restrack_suppressions_" + std::to_string(restrack_test::process_id());
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override {
    std::remove(path_.c_str());
    TrackerTest::TearDown();
  }
  std::string path_;
};

TEST_F(SuppressionsTest, KindRuleSuppressesThatKindOnly) {
  ASSERT_TRUE(restrack::apply_options("suppressions=" + write_file("# quiet pipes\nkind:pipe\n")));
  leak(restrack::kinds::pipe);
  leak(restrack::kinds::socket);
  ASSERT_EQ(captured_.records().size(), 1u);
  EXPECT_EQ(captured_.records()[0].kind, "socket");
  EXPECT_EQ(restrack::diagnostic_counts().suppressed, 1u);
}

static restrack::TrackedFd open_from_legacy_code() { return open_socket(); }

static void leak_from_legacy_code() { restrack::TrackedFd fd = open_from_legacy_code(); }

TEST_F(SuppressionsTest, SiteRuleMatchesAnySymbolizedFrame) {
  ASSERT_TRUE(restrack::apply_options(
      "suppressions=" + write_file("site:^open_from_legacy_code\\(\\) at tests/tracker/\n")));
  leak_from_legacy_code();
  leak();
  ASSERT_EQ(captured_.records().size(), 1u);
  EXPECT_EQ(restrack::diagnostic_counts().suppressed, 1u);

  // The same rules answer for live resources (the GoogleTest listener asks this way).
  restrack::TrackedFd live = open_from_legacy_code();
  const restrack::TraceId live_trace = restrack::live_resources().back().allocation_trace;
  EXPECT_TRUE(restrack::is_suppressed("socket", live_trace));
  EXPECT_FALSE(restrack::is_suppressed("socket", captured_.records()[0].allocation_trace));
  live.close();
}

TEST_F(SuppressionsTest, BadLinesAreNamedWithFileAndLineAndTheRestApply) {
  const std::string path = write_file("kind:pipe\nsite:([\nfrobnicate\n");
  EXPECT_FALSE(restrack::apply_options("suppressions=" + path));
  const std::string log = logged();
  EXPECT_NE(log.find("restrack: " + path + ":2: bad regular expression '([' ("), std::string::npos)
      << log;
  EXPECT_NE(log.find("restrack: " + path +
                     ":3: expected 'kind:NAME' or 'site:REGEX', got 'frobnicate'; rule skipped\n"),
            std::string::npos)
      << log;
  leak(restrack::kinds::pipe);
  EXPECT_TRUE(captured_.texts().empty());  // line 1 still applies
}

TEST_F(SuppressionsTest, UnreadableFileIsNamedAndNothingIsSuppressed) {
  EXPECT_FALSE(restrack::apply_options("suppressions=/nonexistent/restrack.supp"));
  EXPECT_EQ(logged(),
            "restrack: cannot read suppressions file '/nonexistent/restrack.supp' (No such file "
            "or directory); continuing without suppressions\n");
  leak();
  EXPECT_EQ(captured_.texts().size(), 1u);
}

// Regression tests (issue 8): RE2 rules and unreadable paths.
TEST_F(SuppressionsTest, PatternThatBacktracksForeverWithRegexMatchesAtOnce) {
  // With std::regex, (a+)+$ against a long run of 'a' followed by 'b' never finishes.
  ASSERT_TRUE(restrack::apply_options("trace_depth=4:suppressions=" + write_file("site:(a+)+$\n")));
  leak();
  EXPECT_EQ(captured_.texts().size(), 1u);  // not suppressed, and done
}

TEST_F(SuppressionsTest, AnyFrameRuleRunsOnASmallStack) {
  // std::regex recursed per character: ".*" overflowed a 512 KiB stack on long frames.
  ASSERT_TRUE(restrack::apply_options("trace_depth=4:suppressions=" + write_file("site:.*\n")));
  std::size_t reported = 1;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  // ThreadSanitizer's runtime needs far more stack of its own (and makes libdw's, which
  // symbolizes the thread's new frames on it, bigger too).
#if defined(__SANITIZE_THREAD__)
  pthread_attr_setstacksize(&attributes, 4 * 1024 * 1024);
#else
  pthread_attr_setstacksize(&attributes, std::size_t{512} * 1024);
#endif
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attributes,
                [](void* count) -> void* {
                  const std::size_t before = restrack::diagnostic_counts().suppressed;
                  leak();
                  *static_cast<std::size_t*>(count) =
                      restrack::diagnostic_counts().suppressed - before;
                  return nullptr;
                },
                &reported),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attributes);
  EXPECT_EQ(reported, 1u);  // one suppressed
  EXPECT_TRUE(captured_.texts().empty());
}

TEST_F(SuppressionsTest, PatternNestedTooDeepIsRejectedWithItsFileAndLine) {
  const std::string rules = "kind:pipe\nsite:" + std::string(30'000, '(') + "\n";
  EXPECT_FALSE(restrack::apply_options("suppressions=" + write_file(rules)));
  EXPECT_NE(logged().find("restrack: " + path_ + ":2: bad regular expression '((("),
            std::string::npos)
      << logged().substr(0, 300);
  EXPECT_NE(logged().find("); rule skipped\n"), std::string::npos);
}

TEST_F(SuppressionsTest, DirectoryIsNamedLikeAnyUnreadableFile) {
  EXPECT_FALSE(restrack::apply_options("suppressions=."));
  EXPECT_EQ(logged(),
            "restrack: cannot read suppressions file '.' (it is a directory); continuing "
            "without suppressions\n");
}
