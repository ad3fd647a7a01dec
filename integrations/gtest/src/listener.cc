#include "restrack/gtest/listener.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "key_value.h"
#include "ledger.h"
#include "logging.h"
#include "report.h"
#include "restrack/live.h"
#include "restrack/report.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest {

namespace {

using internal::Ledger;
using internal::Scope;

bool allows_leaks(const ::testing::TestResult& result) {
  for (int i = 0; i < result.test_property_count(); ++i) {
    const ::testing::TestProperty& property = result.GetTestProperty(i);
    if (std::string_view(property.key()) == kAllowLeaksProperty &&
        std::string_view(property.value()) != "0") {
      return true;
    }
  }
  return false;
}

std::string counted(std::size_t count, std::string_view singular, std::string_view plural) {
  return std::to_string(count) + ' ' + std::string(count == 1 ? singular : plural);
}

class LeakListener final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestSuiteStart(const ::testing::TestSuite& /*suite*/) override {
    suite_start_ = Snapshot::take();
    Ledger::instance().enter(Scope::suite);
  }

  void OnTestStart(const ::testing::TestInfo& test) override {
    // The JSON report blames what happens from here on this test.
    set_report_label(std::string(test.test_suite_name()) + '.' + test.name());
    test_start_ = Snapshot::take();
    Ledger::instance().enter(Scope::test);
  }

  // GoogleTest still counts failures added here against the test that just ended.
  void OnTestEnd(const ::testing::TestInfo& test) override {
    Ledger& ledger = Ledger::instance();
    std::vector<ResourceInfo> left_open = test_start_.opened_since();
    ledger.claim(left_open);
    std::vector<Diagnostic> warnings = ledger.leave(Scope::test, Scope::suite);
    set_report_label("");
    if (allows_leaks(*test.result())) return;

    const std::string name = std::string(test.test_suite_name()) + '.' + test.name();
    const ListenerOptions options = ledger.options();
    const internal::Leaks leaks =
        internal::reportable(std::move(warnings), std::move(left_open), options);
    internal::fail_each(internal::entries(leaks, "left open by test " + name), test.file(),
                        test.line(), name, options.report_only);
  }

  // Failures added here are the suite's: gtest lists them as
  // "<Suite>: SetUpTestSuite or TearDownTestSuite".
  void OnTestSuiteEnd(const ::testing::TestSuite& suite) override {
    Ledger& ledger = Ledger::instance();
    std::vector<ResourceInfo> left_open = suite_start_.opened_since();
    ledger.claim(left_open);
    std::vector<Diagnostic> warnings = ledger.leave(Scope::suite, Scope::program);

    const std::string name = suite.name();
    const ListenerOptions options = ledger.options();
    const internal::Leaks leaks =
        internal::reportable(std::move(warnings), std::move(left_open), options);
    internal::fail_each(internal::entries(leaks, "left open by test suite " + name), nullptr, -1,
                        name, options.report_only);
  }

  // Failures added here belong to no test; they make RUN_ALL_TESTS() return 1.
  void OnTestIterationEnd(const ::testing::UnitTest& /*unit_test*/, int iteration) override {
    Ledger& ledger = Ledger::instance();
    std::vector<ResourceInfo> left_open;
    if (environments_torn_down(iteration)) {
      left_open = live_resources();
      ledger.claim(left_open);
    }
    std::vector<Diagnostic> warnings = ledger.leave(Scope::program, Scope::program);

    const ListenerOptions options = ledger.options();
    const internal::Leaks leaks =
        internal::reportable(std::move(warnings), std::move(left_open), options);
    if (leaks.empty()) return;
    std::string summary = "restrack: " + counted(leaks.left_open.size(), "resource", "resources") +
                          " still open at the end of the test program and " +
                          counted(leaks.warnings.size(), "warning", "warnings") +
                          " raised outside any test";
    for (const std::string& entry :
         internal::entries(leaks, "still open at the end of the test program")) {
      summary += "\n\n";
      summary += entry;
    }
    internal::fail_each({summary}, nullptr, -1, "the test program", options.report_only);
  }

 private:
  // Global environments are torn down after the last iteration, or after every one when
  // they are recreated; only then is a resource they opened expected to be closed.
  static bool environments_torn_down(int iteration) {
    const int repeat = GTEST_FLAG_GET(repeat);
    return repeat < 0 || iteration == repeat - 1 ||
           GTEST_FLAG_GET(recreate_environments_when_repeating);
  }

  Snapshot suite_start_ = Snapshot::take();
  Snapshot test_start_ = Snapshot::take();
};

// Applies RESTRACK_GTEST_OPTIONS on top of `options`, naming each bad pair on the
// `restrack` logger, with the tracker's own key=value parser.
ListenerOptions with_environment(ListenerOptions options) {
  const char* text = std::getenv("RESTRACK_GTEST_OPTIONS");
  if (text == nullptr) return options;
  std::vector<std::string> errors;
  for (const restrack::internal::KeyValue& item : restrack::internal::split_key_values(text)) {
    const std::string_view key = item.key;
    const std::string_view value = item.value;
    if (!item.has_value) {
      errors.push_back(restrack::internal::no_value_message(item));
    } else if (key == "report_only" && (value == "0" || value == "1")) {
      options.report_only = value == "1";
    } else if (key == "ignore_kinds") {
      options.ignore_kinds.clear();
      for (std::string_view kind : restrack::internal::split_list(value)) {
        options.ignore_kinds.emplace_back(kind);
      }
    } else if (key == "report_only") {
      errors.push_back("report_only must be 0 or 1, not " + restrack::internal::quoted(value));
    } else {
      errors.push_back("unknown key " + restrack::internal::quoted(key));
    }
  }
  for (const std::string& error : errors) {
    restrack::internal::log_error("RESTRACK_GTEST_OPTIONS: " + error);
  }
  return options;
}

}  // namespace

void install(const ListenerOptions& options) {
  Ledger& ledger = Ledger::instance();
  ledger.set_options(with_environment(options));
  static const bool appended = [] {
    // Appended after gtest's printer, so at the end of a test it runs first and gtest
    // prints its failures before the "[  FAILED  ]" line.
    ::testing::UnitTest::GetInstance()->listeners().Append(new LeakListener());
    return true;
  }();
  static_cast<void>(appended);
  ledger.subscribe();
}

}  // namespace gtest
RESTRACK_NAMESPACE_END
