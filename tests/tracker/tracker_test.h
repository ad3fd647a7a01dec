// Test support: records dispatched diagnostics and the restrack logger's output, and
// puts the tracker's options back to known values for each test.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "restrack/tracker.h"

namespace restrack_test {

class CapturedDiagnostics : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    texts_.push_back(restrack::format_diagnostic(diagnostic));
    records_.push_back(diagnostic);
  }
  std::vector<std::string> texts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return texts_;
  }
  std::vector<restrack::Diagnostic> records() {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> texts_;
  std::vector<restrack::Diagnostic> records_;
};

// Every tracker test starts from the same options and counts, with diagnostics captured
// instead of printed, and the restrack logger's messages (option errors) captured too.
class TrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    restrack::Options options;
    options.trace_depth = 2;
    ASSERT_TRUE(restrack::set_options(options));
    restrack::reset_diagnostic_counts();
    restrack::set_default_output(false);
    restrack::add_handler(&captured_);
    logger_ = spdlog::get("restrack");
    ASSERT_NE(logger_, nullptr);
    saved_sinks_ = logger_->sinks();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%v");
    logger_->sinks() = {sink};
  }
  void TearDown() override {
    logger_->sinks() = saved_sinks_;
    restrack::remove_handler(&captured_);
    restrack::set_default_output(true);
    restrack::set_options(restrack::Options{});
  }
  std::string logged() const { return log_.str(); }

  CapturedDiagnostics captured_;

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_sinks_;
  std::ostringstream log_;
};

// "tests/tracker/<file>:<line>" as traces print it.
// What a descriptor refers to (device and inode), to tell later whether the descriptor
// number still names that object — restrack's symbolizer may reuse a closed number.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};
inline FileIdentity identity_of(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return {};
  return {info.st_dev, info.st_ino};
}

inline std::string at(const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line);
}

}  // namespace restrack_test
