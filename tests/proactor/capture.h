// Test-only: records what restrack reports, so tests can assert it exactly.
//   DiagnosticRecorder — every tracker diagnostic (kind, type, description), default
//                        output switched off while it lives.
//   LogRecorder        — every message of the `restrack.proactor` logger ("level: text").
#pragma once

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include "log.h"
#include "restrack/diagnostic.h"

namespace restrack_test {

struct RecordedDiagnostic {
  restrack::DiagnosticType type;
  std::string kind;
  std::string description;
  std::string text;  // format_diagnostic: the ResourceWarning as printed
};

class DiagnosticRecorder final : public restrack::DiagnosticHandler {
 public:
  DiagnosticRecorder() {
    restrack::set_default_output(false);
    restrack::add_handler(this);
  }
  ~DiagnosticRecorder() override {
    restrack::remove_handler(this);
    restrack::set_default_output(true);
  }
  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    std::lock_guard lock(mutex_);
    recorded_.push_back(RecordedDiagnostic{diagnostic.type, std::string(diagnostic.kind),
                                           diagnostic.description,
                                           restrack::format_diagnostic(diagnostic)});
  }
  std::vector<RecordedDiagnostic> recorded() {
    std::lock_guard lock(mutex_);
    return recorded_;
  }
  // "kind <description>" of every unclosed report, in order.
  std::vector<std::string> unclosed() {
    std::vector<std::string> lines;
    for (const RecordedDiagnostic& diagnostic : recorded()) {
      if (diagnostic.type == restrack::DiagnosticType::unclosed) {
        lines.push_back(diagnostic.kind + " <" + diagnostic.description + ">");
      }
    }
    return lines;
  }

 private:
  std::mutex mutex_;
  std::vector<RecordedDiagnostic> recorded_;
};

class LogRecorder {
 public:
  explicit LogRecorder(spdlog::level::level_enum level = spdlog::level::debug)
      : sink_(std::make_shared<Sink>()),
        previous_level_(restrack::internal::proactor_logger().level()) {
    sink_->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%l: %v", spdlog::pattern_time_type::local, ""));
    // Only this sink while recording: what the test expects is not printed to stderr.
    previous_sinks_.swap(restrack::internal::proactor_logger().sinks());
    restrack::internal::proactor_logger().sinks().push_back(sink_);
    restrack::internal::proactor_logger().set_level(level);
  }
  ~LogRecorder() {
    restrack::internal::proactor_logger().sinks().swap(previous_sinks_);
    restrack::internal::proactor_logger().set_level(previous_level_);
  }
  LogRecorder(const LogRecorder&) = delete;
  LogRecorder& operator=(const LogRecorder&) = delete;

  std::vector<std::string> lines() {
    std::lock_guard lock(sink_->lines_mutex);
    return sink_->lines;
  }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::mutex lines_mutex;
    std::vector<std::string> lines;

   protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
      spdlog::memory_buf_t formatted;
      formatter_->format(message, formatted);
      std::lock_guard lock(lines_mutex);
      lines.emplace_back(formatted.data(), formatted.size());
    }
    void flush_() override {}
  };
  std::shared_ptr<Sink> sink_;
  std::vector<spdlog::sink_ptr> previous_sinks_;
  spdlog::level::level_enum previous_level_;
};

}  // namespace restrack_test
