// Test support: records dispatched diagnostics and the restrack logger's output, and
// puts the tracker's options back to known values for each test.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdint>
#include <fstream>
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
    // Lines end in "\n" on every platform (spdlog's default is "\r\n" on Windows): the
    // tests compare restrack's messages, not the platform's line ends.
    sink->set_formatter(
        std::make_unique<spdlog::pattern_formatter>("%v", spdlog::pattern_time_type::local, "\n"));
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

// A barrier for `count` threads on a mutex and a condition variable. std::barrier waits
// through std::atomic::wait, which in mingw-w64's libstdc++ (GCC 12, no futex) was seen to
// miss a wake-up and hang a test under Wine in one run of five.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
      return;
    }
    changed_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  const int count_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
};

// The whole of a file, as bytes; empty if it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "tests/tracker/<file>:<line>" as traces print it.
inline std::string at(const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line);
}

}  // namespace restrack_test
