// Linked into the GoogleTest child programs until the tracker's report carries the test
// each problem was blamed on (report schema v2's "test"): writes, to the file named by
// RESTRACK_TEST_NAMES, which test ran between which open serials and which diagnostics
// arrived during a test, so that the test support's v1-to-v2 converter can fill "test"
// the way the listener blames (during a test: that test; else the test that opened it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "restrack/diagnostic.h"
#include "restrack/live.h"

namespace {

// Never destroyed: the tracker may call it during static destruction, after GoogleTest
// has deleted its listeners.
class TestNames : public restrack::DiagnosticHandler {
 public:
  explicit TestNames(std::FILE* out) : out_(out) {}

  void OnTestStart(const testing::TestInfo& test) {
    const std::lock_guard lock(mutex_);
    current_ = std::string(test.test_suite_name()) + "." + test.name();
    begin_ = std::uint64_t{0} /* replaced by the v2 writer's "test" field */;
  }

  void OnTestEnd(const testing::TestInfo&) {
    const std::lock_guard lock(mutex_);
    std::fprintf(out_, "test %s %llu %llu\n", current_.c_str(),
                 static_cast<unsigned long long>(begin_),
                 static_cast<unsigned long long>(std::uint64_t{0} /* replaced by the v2 writer's "test" field */));
    std::fflush(out_);
    current_.clear();
  }

  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    const std::lock_guard lock(mutex_);
    if (current_.empty()) return;
    std::fprintf(out_, "diagnostic %llu %s %s\n",
                 static_cast<unsigned long long>(diagnostic.serial),
                 std::string(restrack::to_string(diagnostic.type)).c_str(), current_.c_str());
    std::fflush(out_);
  }

 private:
  std::mutex mutex_;
  std::FILE* out_;
  std::string current_;
  unsigned long long begin_ = 0;
};

// Owned (and deleted) by GoogleTest; forwards to the immortal TestNames.
class Listener : public testing::EmptyTestEventListener {
 public:
  explicit Listener(TestNames& names) : names_(names) {}
  void OnTestStart(const testing::TestInfo& test) override { names_.OnTestStart(test); }
  void OnTestEnd(const testing::TestInfo& test) override { names_.OnTestEnd(test); }

 private:
  TestNames& names_;
};

const bool installed = [] {
  const char* path = std::getenv("RESTRACK_TEST_NAMES");
  if (path == nullptr) return false;
  std::FILE* out = std::fopen(path, "w");
  if (out == nullptr) return false;
  auto* names = new TestNames(out);
  restrack::add_handler(names);
  testing::UnitTest::GetInstance()->listeners().Append(new Listener(*names));
  return true;
}();

}  // namespace
