// restrack/gtest/listener.h — fail the GoogleTest tests that leak resources.
//
// One line in a custom main, after InitGoogleTest and before RUN_ALL_TESTS, turns every
// leak into a test failure (or link restrack::gtest_main instead of GTest::gtest_main):
//
//   int main(int argc, char** argv) {
//     testing::InitGoogleTest(&argc, argv);
//     restrack::gtest::install();
//     return RUN_ALL_TESTS();
//   }
//
// When a test ends, the test fails once for each tracked resource opened while it ran
// (on any thread) and still open, and once for each warning the tracker raised while it
// ran: unclosed at destruction, closed twice, used after close. Each failure carries the
// ResourceWarning text with the allocation trace (docs/testing.md shows one).
//
// Blame follows the tracker's snapshots, not timing, and every resource is blamed at
// most once, on the narrowest scope that opened it:
//   - a test, for what was opened between its start and its end;
//   - its test suite, for what SetUpTestSuite or TearDownTestSuite opened and left open
//     when the suite ends ("SetUpTestSuite or TearDownTestSuite" in gtest's summary);
//   - the test program, for warnings raised outside any test and for every resource
//     still open when the last iteration ends (globals and global environments
//     included), reported as one summary failure, so RUN_ALL_TESTS() returns 1.
// A resource once blamed is not blamed again: not when it is still open later, and not
// when it is finally destroyed unclosed during another test.
//
// Each --gtest_repeat iteration is checked on its own; shuffling and sharding change
// nothing, because blame never depends on which test ran before. A death test's child
// process never reaches the end of its test, so only the parent reports.
//
// Warnings reach the listener only if the tracker dispatches them: the `action` option
// `ignore` silences them and suppressions (RESTRACK_OPTIONS=suppressions=FILE) drop them.
// Resources still open are filtered with the same suppressions. Warnings raised after
// RUN_ALL_TESTS() returns (static destruction) are beyond GoogleTest; to fail the process
// on those too, set RESTRACK_OPTIONS=action=error:exit_code=N.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest {

struct ListenerOptions {
  // Kind names (restrack::Kind::name, e.g. "event loop") never reported.
  std::vector<std::string> ignore_kinds;
  // Print what would fail, under a "[  LEAKED  ] <scope>" banner on stdout, but leave
  // test results and RUN_ALL_TESTS()'s return value alone.
  bool report_only = false;
};

// Appends the leak listener to GoogleTest's listeners and subscribes it to the tracker's
// diagnostics. Call it after testing::InitGoogleTest() and before RUN_ALL_TESTS(), so that
// gtest's printers, installed by InitGoogleTest, report the failures the listener adds.
// Calling it again only replaces the options.
//
// The environment variable RESTRACK_GTEST_OPTIONS, colon-separated like
// RESTRACK_OPTIONS, overrides `options` so CI can change them without a rebuild:
//   report_only=0|1              ignore_kinds=event loop,task
// An unknown key or a bad value is reported on stderr, naming it, and ignored.
void install(const ListenerOptions& options = {});

// The test property that exempts one test from the check (see RESTRACK_ALLOW_LEAKS).
inline constexpr char kAllowLeaksProperty[] = "restrack_allow_leaks";

}  // namespace gtest
RESTRACK_NAMESPACE_END

// Exempts the running test: what it leaves open or warns about is neither reported nor
// blamed on its suite or the program. Use it in the test body or the fixture's SetUp().
// It records the test property kAllowLeaksProperty (visible in --gtest_output=xml), which
// a test may also record itself with RecordProperty.
#define RESTRACK_ALLOW_LEAKS() \
  ::testing::Test::RecordProperty(::restrack::gtest::kAllowLeaksProperty, "1")
