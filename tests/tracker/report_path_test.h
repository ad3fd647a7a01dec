// Test support: the fixture of the report path tests (regression_test.cc and the
// platform files regression_posix_test.cc, regression_windows_test.cc): a directory of
// the test's own, a report configured in it, and one diagnostic to report.
#pragma once

#include <filesystem>
#include <string>

#include "test_object.h"
#include "tracker_test.h"

namespace restrack_test {

class ReportPathTest : public TrackerTest {
 protected:
  void SetUp() override {
    TrackerTest::SetUp();
    directory_ = ::testing::TempDir() + "regression_reports_" + std::to_string(process_id());
    std::filesystem::create_directory(directory_);
    // Through the C++ API: on Windows the ':' of a drive letter would end the value in an
    // options string.
    restrack::Options options = restrack::current_options();
    options.report = directory_ + "/configured.json";
    ASSERT_TRUE(restrack::set_options(options));
    leak_handle();
  }
  void TearDown() override {
    std::filesystem::remove_all(directory_);
    TrackerTest::TearDown();
  }
  static void leak_handle() { restrack::TrackedFd leaked(open_test_object()); }

  std::string directory_;
};

}  // namespace restrack_test
