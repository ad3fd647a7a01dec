// Runs the child programs in programs/ and checks their exit status and the exact failure
// text restrack::gtest makes them print. Lines are found by the "marker:" comments in the
// child sources, so the expectations survive edits that move code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPrograms = "tests/gtest/programs/";

// "tests/gtest/programs/<file>:<line>" for the line of `file` that holds `marker`.
std::string at(const std::string& file, std::string_view marker) {
  std::ifstream source(std::string(RESTRACK_GTEST_PROGRAMS_DIR) + "/" + file);
  std::string line;
  for (int number = 1; std::getline(source, line); ++number) {
    if (line.find("// marker: " + std::string(marker)) != std::string::npos) {
      return kPrograms + file + ":" + std::to_string(number);
    }
  }
  ADD_FAILURE() << "no marker '" << marker << "' in " << file;
  return {};
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

// '*' in `pattern` matches any run of characters; everything else matches itself.
bool line_matches(std::string_view line, std::string_view pattern) {
  const std::size_t star = pattern.find('*');
  if (star == std::string_view::npos) return line == pattern;
  const std::string_view head = pattern.substr(0, star);
  const std::string_view tail = pattern.substr(star + 1);
  return line.size() >= head.size() + tail.size() && line.starts_with(head) && line.ends_with(tail);
}

// Passes if `expected` occur as consecutive lines of `text`.
::testing::AssertionResult has_lines(std::string_view text,
                                     const std::vector<std::string>& expected) {
  const std::vector<std::string> lines = lines_of(text);
  for (std::size_t first = 0; first + expected.size() <= lines.size(); ++first) {
    std::size_t matched = 0;
    while (matched < expected.size() && line_matches(lines[first + matched], expected[matched])) {
      ++matched;
    }
    if (matched == expected.size()) return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "these lines:\n";
  for (const std::string& line : expected) failure << line << '\n';
  return failure << "are not in:\n" << text;
}

// What gtest printed while `test` ran: after "[ RUN      ] test", up to its result line.
std::string output_of_test(const std::string& out, const std::string& test) {
  const std::string run = "[ RUN      ] " + test + "\n";
  const std::size_t begin = out.find(run);
  if (begin == std::string::npos) return {};
  const std::size_t end = out.find("[  ", begin + run.size());
  return out.substr(begin + run.size(), end - begin - run.size());
}

// The failures in `text`, each from its "<location>: Failure" line up to the next one.
std::vector<std::string> failures_in(std::string_view text) {
  std::vector<std::string> failures;
  for (const std::string& line : lines_of(text)) {
    if (line.ends_with(": Failure")) {
      failures.emplace_back();
    } else if (line.starts_with("[")) {
      continue;
    }
    if (!failures.empty()) failures.back() += line + "\n";
  }
  return failures;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size())) {
    ++count;
  }
  return count;
}

// The tests gtest lists as failed in its summary, in its order.
std::vector<std::string> failed_tests(const std::string& out) {
  std::vector<std::string> failed;
  const std::size_t summary = out.find("tests, listed below:\n");
  const std::size_t summary_one = out.find("test, listed below:\n");
  const std::size_t begin = std::min(summary, summary_one);
  if (begin == std::string::npos) return failed;
  for (const std::string& line : lines_of(std::string_view(out).substr(begin))) {
    if (line.starts_with("[  FAILED  ] ") && !line.ends_with("listed below:")) {
      failed.push_back(line.substr(13));
    }
  }
  return failed;
}

std::string allocated_in_test_resource() {
  return "  #0 TestResource::TestResource(char const*, restrack::Kind const&) at " +
         at("test_resource.cc", "TestResource opens");
}

TEST(CleanProgram, PassesWithNothingReported) {
  const ChildResult child = run_child(CLEAN_PROGRAM, {});
  EXPECT_EQ(child.exit_code, 0) << child.out;
  EXPECT_THAT(child.out, Not(HasSubstr("Failure")));
  EXPECT_THAT(child.out, HasSubstr("[  PASSED  ] 3 tests.\n"));
  EXPECT_THAT(child.err, Not(HasSubstr("ResourceWarning")));
}

TEST(LeakListener, FailsTheTestThatLeftAResourceOpen) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpen"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "Leaky.LeavesOneOpen"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0],
      {at("leaky_program.cc", "LeavesOneOpen test") + ": Failure", "Failed",
       at("test_resource.cc", "TestResource opens") +
           ": ResourceWarning: test resource left open by test Leaky.LeavesOneOpen <left-open>",
       "Object allocated at (most recent call first):", allocated_in_test_resource(),
       "  #1 Leaky_LeavesOneOpen_Test::TestBody() at " +
           at("leaky_program.cc", "LeavesOneOpen opens")}));
  EXPECT_EQ(failed_tests(child.out), std::vector<std::string>{"Leaky.LeavesOneOpen"});
}

TEST(LeakListener, FailsTheTestThatDestroyedAResourceUnclosed) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.DestroysOneUnclosed"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "Leaky.DestroysOneUnclosed"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0], {at("leaky_program.cc", "DestroysOneUnclosed test") + ": Failure", "Failed",
                    at("test_resource.cc", "TestResource destroyed") +
                        ": ResourceWarning: unclosed test resource <destroyed-unclosed>",
                    "Object allocated at (most recent call first):", allocated_in_test_resource(),
                    "  #1 Leaky_DestroysOneUnclosed_Test::TestBody() at " +
                        at("leaky_program.cc", "DestroysOneUnclosed opens")}));
}

TEST(LeakListener, FailsTheTestThatClosedAResourceTwice) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.ClosesTwice"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "Leaky.ClosesTwice"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0], {at("test_resource.cc", "TestResource closes") +
                        ": ResourceWarning: test resource closed twice <closed-twice>",
                    "Object allocated at (most recent call first):", allocated_in_test_resource(),
                    "  #1 Leaky_ClosesTwice_Test::TestBody() at " +
                        at("leaky_program.cc", "ClosesTwice opens")}));
  EXPECT_TRUE(has_lines(failures[0], {"First closed at (most recent call first):",
                                      "  #0 TestResource::close() at " +
                                          at("test_resource.cc", "TestResource closes"),
                                      "  #1 Leaky_ClosesTwice_Test::TestBody() at " +
                                          at("leaky_program.cc", "ClosesTwice first close")}));
}

TEST(LeakListener, FailsTheTestThatUsedAResourceAfterClosingIt) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.UsesAfterClose"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "Leaky.UsesAfterClose"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0], {at("test_resource.cc", "TestResource used") +
                        ": ResourceWarning: test resource used after close "
                        "<used-after-close>",
                    "Object allocated at (most recent call first):", allocated_in_test_resource(),
                    "  #1 Leaky_UsesAfterClose_Test::TestBody() at " +
                        at("leaky_program.cc", "UsesAfterClose opens")}));
  EXPECT_TRUE(has_lines(failures[0], {"First closed at (most recent call first):",
                                      "  #0 TestResource::close() at " +
                                          at("test_resource.cc", "TestResource closes"),
                                      "  #1 Leaky_UsesAfterClose_Test::TestBody() at " +
                                          at("leaky_program.cc", "UsesAfterClose closes")}));
}

TEST(LeakListener, FailsTheTestWhoseThreadLeftAResourceOpen) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpenOnAnotherThread"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures =
      failures_in(output_of_test(child.out, "Leaky.LeavesOneOpenOnAnotherThread"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0], {at("test_resource.cc", "TestResource opens") +
                        ": ResourceWarning: test resource left open by test "
                        "Leaky.LeavesOneOpenOnAnotherThread <opened-on-a-thread>",
                    "Object allocated at (most recent call first):", allocated_in_test_resource(),
                    "  #1 Leaky_LeavesOneOpenOnAnotherThread_Test::TestBody()::* at " +
                        at("leaky_program.cc", "thread opens")}));
}

TEST(LeakListener, FailsTheTestWhoseThreadDestroyedAResourceUnclosed) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.DestroysOneUnclosedOnAnotherThread"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures =
      failures_in(output_of_test(child.out, "Leaky.DestroysOneUnclosedOnAnotherThread"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0], {at("test_resource.cc", "TestResource destroyed") +
                        ": ResourceWarning: unclosed test resource <destroyed-on-a-thread>",
                    "Object allocated at (most recent call first):", allocated_in_test_resource(),
                    "  #1 Leaky_DestroysOneUnclosedOnAnotherThread_Test::TestBody()::* at " +
                        at("leaky_program.cc", "thread destroys")}));
}

TEST(LeakListener, ReportsEachResourceLeftOpenAsOneFailureOldestFirst) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesTwoOpen"});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "Leaky.LeavesTwoOpen"));
  ASSERT_EQ(failures.size(), 2u) << child.out;
  EXPECT_THAT(failures[0], HasSubstr("left open by test Leaky.LeavesTwoOpen <first>\n"));
  EXPECT_THAT(failures[0], HasSubstr(" at " + at("leaky_program.cc", "LeavesTwoOpen first")));
  EXPECT_THAT(failures[1], HasSubstr("left open by test Leaky.LeavesTwoOpen <second>\n"));
  EXPECT_THAT(failures[1], HasSubstr(" at " + at("leaky_program.cc", "LeavesTwoOpen second")));
}

TEST(LeakListener, BlamesOnlyTheTestsThatLeakedInAFullRun) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(failed_tests(child.out),
            (std::vector<std::string>{
                "Leaky.LeavesOneOpen", "Leaky.DestroysOneUnclosed", "Leaky.ClosesTwice",
                "Leaky.UsesAfterClose", "Leaky.LeavesOneOpenOnAnotherThread",
                "Leaky.DestroysOneUnclosedOnAnotherThread", "Leaky.LeavesTwoOpen",
                "ScopedCheck.FailsForWhatTheRegionLeftOpen"}))
      << child.out;
  // Everything left open was blamed on a test, so nothing is left for the program summary.
  EXPECT_THAT(child.out, Not(HasSubstr("outside any test")));
}

TEST(LeakListener, AllowLeaksExemptsTheTestAndItsLeftoversAreBlamedOnNobody) {
  const ChildResult child = run_child(
      LEAKY_PROGRAM, {"--gtest_filter=Leaky.AllowsLeaks:Leaky.AllowsLeaksThroughTheTestProperty"});
  EXPECT_EQ(child.exit_code, 0) << child.out;
  EXPECT_THAT(child.out, HasSubstr("[       OK ] Leaky.AllowsLeaks\n"));
  EXPECT_THAT(child.out, HasSubstr("[       OK ] Leaky.AllowsLeaksThroughTheTestProperty\n"));
  EXPECT_THAT(child.out, Not(HasSubstr("Failure")));
}

TEST(ScopedLeakCheck, FailsAtTheCheckForWhatTheRegionLeftOpen) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=ScopedCheck.FailsForWhatTheRegionLeftOpen"});
  EXPECT_EQ(child.exit_code, 1);
  const std::string check = at("leaky_program.cc", "scoped check");
  const auto failures =
      failures_in(output_of_test(child.out, "ScopedCheck.FailsForWhatTheRegionLeftOpen"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(failures[0], {check + ": Failure", "Failed",
                                      at("test_resource.cc", "TestResource opens") +
                                          ": ResourceWarning: test resource left open in the "
                                          "scope checked at " +
                                          check + " <left-in-region>",
                                      "Object allocated at (most recent call first):",
                                      allocated_in_test_resource()}));
}

TEST(ScopedLeakCheck, PassesForARegionThatClosesEverything) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=ScopedCheck.PassesForARegionThatClosesEverything"});
  EXPECT_EQ(child.exit_code, 0) << child.out;
}

TEST(SuiteAndProgram, ResourceOpenedInSetUpTestSuiteIsBlamedOnTheSuite) {
  const ChildResult child = run_child(OUTSIDE_TESTS_PROGRAM, {});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_THAT(child.out, HasSubstr("[       OK ] SuiteLeak.FirstTestIsNotBlamed\n"));
  EXPECT_THAT(child.out, HasSubstr("[       OK ] SuiteLeak.SecondTestIsNotBlamed\n"));
  EXPECT_THAT(child.out, HasSubstr("[       OK ] AfterTheSuite.IsNotBlamed\n"));
  EXPECT_TRUE(has_lines(
      child.out, {"[       OK ] SuiteLeak.SecondTestIsNotBlamed", "unknown file: Failure", "Failed",
                  at("test_resource.cc", "TestResource opens") +
                      ": ResourceWarning: test resource left open by test "
                      "suite SuiteLeak <suite>",
                  "Object allocated at (most recent call first):", allocated_in_test_resource(),
                  "  #1 SuiteLeak::SetUpTestSuite() at " +
                      at("outside_tests_program.cc", "SetUpTestSuite opens")}));
  EXPECT_THAT(child.out,
              HasSubstr("[  FAILED  ] SuiteLeak: SetUpTestSuite or TearDownTestSuite\n"));
}

TEST(SuiteAndProgram, GlobalsAndWarningsOutsideTestsFailTheProgramWithASummary) {
  const ChildResult child = run_child(OUTSIDE_TESTS_PROGRAM, {});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_TRUE(
      has_lines(child.out,
                {"unknown file: Failure", "Failed",
                 std::string("restrack: 1 resource still open at the end of the test program and 1 "
                             "warning raised outside any test"),
                 "",
                 at("test_resource.cc", "TestResource destroyed") +
                     ": ResourceWarning: unclosed test resource <environment>",
                 "Object allocated at (most recent call first):", allocated_in_test_resource(),
                 "  #1 CarelessEnvironment::SetUp() at " +
                     at("outside_tests_program.cc", "environment opens")}));
  EXPECT_TRUE(has_lines(
      child.out, {at("test_resource.cc", "TestResource opens") +
                      ": ResourceWarning: test resource still open at the end "
                      "of the test program <global>",
                  "Object allocated at (most recent call first):", allocated_in_test_resource(),
                  "  #1 * at " + at("outside_tests_program.cc", "global opens")}));
  EXPECT_EQ(occurrences(child.out, "ResourceWarning"), 3u) << child.out;
}

TEST(GtestFlags, RepeatReportsTheLeakOnceInEachIteration) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM,
                {"--gtest_filter=Leaky.LeavesOneOpen:Leaky.ClosesWhatItOpens", "--gtest_repeat=3"});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(occurrences(child.out, "left open by test Leaky.LeavesOneOpen <left-open>\n"), 3u)
      << child.out;
  EXPECT_EQ(occurrences(child.out, "[       OK ] Leaky.ClosesWhatItOpens\n"), 3u);
}

TEST(GtestFlags, RepeatChecksTheSuiteEachIterationAndTheProgramAtTheEnd) {
  const ChildResult child = run_child(OUTSIDE_TESTS_PROGRAM, {"--gtest_repeat=2"});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(occurrences(child.out, "left open by test suite SuiteLeak <suite>\n"), 2u) << child.out;
  EXPECT_EQ(occurrences(child.out, "still open at the end of the test program <global>\n"), 1u);
  // The environment is set up once and torn down after the last iteration.
  EXPECT_EQ(occurrences(child.out, "unclosed test resource <environment>\n"), 1u);
}

TEST(GtestFlags, ShuffleBlamesTheSameTestsWhateverTheOrder) {
  std::set<std::string> orders;
  for (const char* seed : {"1", "2", "3", "4", "5", "6"}) {
    const ChildResult child =
        run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpen:Leaky.DestroysOneUnclosed:"
                                  "Leaky.ClosesWhatItOpens:Leaky.AllowsLeaks",
                                  "--gtest_shuffle", std::string("--gtest_random_seed=") + seed});
    EXPECT_EQ(child.exit_code, 1);
    std::vector<std::string> failed = failed_tests(child.out);
    std::sort(failed.begin(), failed.end());
    EXPECT_EQ(failed,
              (std::vector<std::string>{"Leaky.DestroysOneUnclosed", "Leaky.LeavesOneOpen"}))
        << "seed " << seed << ":\n"
        << child.out;
    std::string order;
    for (const std::string& line : lines_of(child.out)) {
      if (line.starts_with("[ RUN      ] ")) order += line.substr(13) + " ";
    }
    orders.insert(order);
  }
  EXPECT_GE(orders.size(), 3u) << "the seeds did not shuffle the tests";
}

TEST(GtestFlags, ShardingReportsTheLeakOnlyInTheShardThatRanTheTest) {
  const std::vector<std::string> filter = {
      "--gtest_filter=Leaky.LeavesOneOpen:Leaky.ClosesWhatItOpens"};
  const ChildResult first =
      run_child(LEAKY_PROGRAM, filter, {"GTEST_TOTAL_SHARDS=2", "GTEST_SHARD_INDEX=0"});
  const ChildResult second =
      run_child(LEAKY_PROGRAM, filter, {"GTEST_TOTAL_SHARDS=2", "GTEST_SHARD_INDEX=1"});
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_EQ(failed_tests(first.out), std::vector<std::string>{"Leaky.LeavesOneOpen"});
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("[       OK ] Leaky.ClosesWhatItOpens\n"));
  EXPECT_THAT(second.out, Not(HasSubstr("ResourceWarning")));
}

class DeathTestStyle : public ::testing::TestWithParam<const char*> {};

TEST_P(DeathTestStyle, OnlyTheParentReportsAndOnlyItsOwnLeak) {
  const ChildResult child =
      run_child(DEATH_TEST_PROGRAM, {std::string("--gtest_death_test_style=") + GetParam()});
  EXPECT_EQ(child.exit_code, 1);
  const auto failures = failures_in(output_of_test(child.out, "DeathTest.LeaksAroundDeathTests"));
  ASSERT_EQ(failures.size(), 1u) << child.out;
  EXPECT_TRUE(has_lines(
      failures[0],
      {at("death_test_program.cc", "DeathTest test") + ": Failure", "Failed",
       at("test_resource.cc", "TestResource opens") +
           ": ResourceWarning: test resource left open by test DeathTest.LeaksAroundDeathTests "
           "<before-death>"}));
  EXPECT_EQ(occurrences(child.out, "ResourceWarning"), 1u) << child.out;
  EXPECT_EQ(failed_tests(child.out), std::vector<std::string>{"DeathTest.LeaksAroundDeathTests"});
}

INSTANTIATE_TEST_SUITE_P(LeakListener, DeathTestStyle, ::testing::Values("fast", "threadsafe"));

TEST(Options, InstallFromACustomMainAppliesIgnoredKinds) {
  const ChildResult child =
      run_child(CUSTOM_MAIN_PROGRAM,
                {"--gtest_filter=CustomMain.IgnoredKindIsNotReported:CustomMain.LeavesOneOpen"});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(failed_tests(child.out), std::vector<std::string>{"CustomMain.LeavesOneOpen"});
  EXPECT_TRUE(has_lines(
      child.out,
      {at("custom_main_program.cc", "CustomMain.LeavesOneOpen test") + ": Failure", "Failed",
       at("test_resource.cc", "TestResource opens") +
           ": ResourceWarning: test resource left open by test "
           "CustomMain.LeavesOneOpen <custom-main>"}));
}

TEST(Options, SuppressionsFileDropsMatchingKindsAndSites) {
  const std::vector<std::string> filter = {
      "--gtest_filter=CustomMain.SuppressedSiteIsNotReported:"
      "CustomMain.SuppressedKindIsNotReported"};
  const ChildResult suppressed =
      run_child(CUSTOM_MAIN_PROGRAM, filter,
                {"RESTRACK_OPTIONS=suppressions=" RESTRACK_GTEST_PROGRAMS_DIR "/suppressions.txt"});
  EXPECT_EQ(suppressed.exit_code, 0) << suppressed.out;
  EXPECT_THAT(suppressed.out, Not(HasSubstr("ResourceWarning")));

  const ChildResult unsuppressed = run_child(CUSTOM_MAIN_PROGRAM, filter);
  EXPECT_EQ(unsuppressed.exit_code, 1);
  EXPECT_EQ(failed_tests(unsuppressed.out),
            (std::vector<std::string>{"CustomMain.SuppressedSiteIsNotReported",
                                      "CustomMain.SuppressedKindIsNotReported"}));
}

TEST(Options, ReportOnlyPrintsEachLeakButPasses) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpen:Leaky.DestroysOneUnclosed"},
                {"RESTRACK_GTEST_OPTIONS=report_only=1"});
  EXPECT_EQ(child.exit_code, 0) << child.out;
  EXPECT_THAT(child.out, Not(HasSubstr("Failure")));
  EXPECT_TRUE(has_lines(child.out, {"[  LEAKED  ] Leaky.LeavesOneOpen",
                                    at("test_resource.cc", "TestResource opens") +
                                        ": ResourceWarning: test resource left open by test "
                                        "Leaky.LeavesOneOpen <left-open>",
                                    "Object allocated at (most recent call first):"}));
  EXPECT_TRUE(has_lines(child.out, {"[  LEAKED  ] Leaky.DestroysOneUnclosed",
                                    at("test_resource.cc", "TestResource destroyed") +
                                        ": ResourceWarning: unclosed test resource "
                                        "<destroyed-unclosed>"}));
}

TEST(Options, ReportOnlyPrintsSuiteAndProgramLeaksButPasses) {
  const ChildResult child =
      run_child(OUTSIDE_TESTS_PROGRAM, {}, {"RESTRACK_GTEST_OPTIONS=report_only=1"});
  EXPECT_EQ(child.exit_code, 0) << child.out;
  EXPECT_THAT(child.out, Not(HasSubstr("Failure")));
  EXPECT_TRUE(has_lines(child.out, {"[  LEAKED  ] SuiteLeak",
                                    at("test_resource.cc", "TestResource opens") +
                                        ": ResourceWarning: test resource left open by test "
                                        "suite SuiteLeak <suite>"}));
  EXPECT_TRUE(has_lines(child.out, {"[  LEAKED  ] the test program",
                                    "restrack: 1 resource still open at the end of the test "
                                    "program and 1 warning raised outside any test"}));
}

TEST(Options, EnvironmentIgnoresKinds) {
  const ChildResult child = run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpen"},
                                      {"RESTRACK_GTEST_OPTIONS=ignore_kinds=other,test resource"});
  EXPECT_EQ(child.exit_code, 0) << child.out;
}

TEST(Options, BadEnvironmentOptionIsNamedAndTheRestStillApplies) {
  const ChildResult child =
      run_child(LEAKY_PROGRAM, {"--gtest_filter=Leaky.LeavesOneOpen"},
                {"RESTRACK_GTEST_OPTIONS=report_onyl=1:report_only=yes:ignore_kinds=other"});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(child.err,
            "restrack: RESTRACK_GTEST_OPTIONS: unknown key 'report_onyl'\n"
            "restrack: RESTRACK_GTEST_OPTIONS: report_only must be 0 or 1, not 'yes'\n");
}

}  // namespace
