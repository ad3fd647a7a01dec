// The JSON report (schema in docs/report-format.md): every dispatched diagnostic and the
// live set, with raw addresses plus module and offset so that another machine can
// symbolize it.
#include <absl/synchronization/mutex.h>

#include <boost/json.hpp>
#include <cstdio>
#include <deque>

#include "no_destructor.h"
#include "platform.h"
#include "restrack/live.h"
#include "runtime.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::size_t kMaxRecords = 100'000;

struct ReportState {
  absl::Mutex mutex;
  std::deque<Diagnostic> diagnostics;
  std::uint64_t dropped = 0;
  bool final = false;  // the exit report was written; later diagnostics rewrite it
  std::string final_path;
  std::string failed_path;  // named once in the log, however often the write is retried
};

ReportState& report_state() {
  static NoDestructor<ReportState> state;
  return *state;
}

std::string hex(std::uintptr_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", static_cast<std::size_t>(value));
  return buffer;
}

boost::json::array frames_json(TraceId id) {
  boost::json::array frames;
  for (const Frame& frame : symbolize_trace(id)) {
    frames.push_back(boost::json::object{{"address", hex(frame.address)},
                                         {"module", frame.module},
                                         {"offset", hex(frame.offset)},
                                         {"function", frame.function},
                                         {"file", frame.file},
                                         {"line", frame.line}});
  }
  return frames;
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::ignore:
      return "ignore";
    case Action::warn:
      return "warn";
    case Action::once:
      return "once";
    case Action::error:
      return "error";
    case Action::abort:
      return "abort";
  }
  return "warn";
}

std::string build_report(const std::deque<Diagnostic>& diagnostics, std::uint64_t dropped) {
  const Options options = current_options();
  boost::json::array diagnostic_array;
  for (const Diagnostic& d : diagnostics) {
    boost::json::object entry{
        {"type", to_string(d.type)},
        {"kind", d.kind},
        {"description", d.description},
        {"thread", d.thread_id},
        {"age_ns", d.age.count()},
        {"serial", d.serial},
        {"location", format_location(d.type == DiagnosticType::open_at_exit ? d.allocation_trace
                                                                            : d.site_trace)},
        {"message", format_diagnostic(d)},
        {"allocation_trace", frames_json(d.allocation_trace)},
    };
    if (d.first_close_trace != kNoTrace) {
      entry["first_close_trace"] = frames_json(d.first_close_trace);
    }
    if (d.site_trace != kNoTrace) entry["site_trace"] = frames_json(d.site_trace);
    diagnostic_array.push_back(std::move(entry));
  }
  boost::json::array live_array;
  for (const ResourceInfo& info : live_resources()) {
    live_array.push_back(boost::json::object{
        {"kind", info.kind},
        {"description", info.description},
        {"thread", info.thread_id},
        {"age_ns", info.age.count()},
        {"serial", info.serial},
        {"allocation_trace", frames_json(info.allocation_trace)},
    });
  }
  const DiagnosticCounts counts = diagnostic_counts();
  const ModuleInfo program = module_of(reinterpret_cast<std::uintptr_t>(&build_report));
  boost::json::object report{
      {"schema", "restrack-report"},
      {"version", 1},
      {"pid", current_process_id()},
      {"program", program.path},
      {"options",
       boost::json::object{{"enabled", options.enabled},
                           {"trace_depth", options.trace_depth},
                           {"capture", options.capture == CaptureMethod::dwarf ? "dwarf" : "fp"},
                           {"action", action_name(options.action)},
                           {"report_at_exit", options.report_at_exit},
                           {"exit_code", options.exit_code},
                           {"suppressions", options.suppressions}}},
      {"counts", boost::json::object{{"dispatched", counts.dispatched},
                                     {"suppressed", counts.suppressed},
                                     {"repeated", counts.repeated},
                                     {"errors", counts.errors},
                                     {"not_recorded", dropped}}},
      {"diagnostics", std::move(diagnostic_array)},
      {"live", std::move(live_array)},
  };
  std::string text = boost::json::serialize(report);
  text += '\n';
  return text;
}

// Writes through a temporary file and a rename, so a reader never sees half a report and
// a failed write leaves the previous one intact.
bool write_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp." + std::to_string(current_process_id());
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return false;
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

std::string expand_path(const std::string& pattern) {
  std::string path;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'p') {
      path += std::to_string(current_process_id());
      ++i;
    } else {
      path += pattern[i];
    }
  }
  return path;
}

bool write_locked(ReportState& state, const std::string& pattern) {
  const std::string path = expand_path(pattern);
  const std::string text = build_report(state.diagnostics, state.dropped);
  if (write_file(path, text)) return true;
  if (state.failed_path != path) {
    state.failed_path = path;
    log_error("cannot write report file '" + path + "'");
  }
  return false;
}

}  // namespace

void record_for_report(const Diagnostic& diagnostic) noexcept {
  ReportState& state = report_state();
  absl::MutexLock lock(&state.mutex);
  try {
    if (state.diagnostics.size() >= kMaxRecords) {
      ++state.dropped;
    } else {
      state.diagnostics.push_back(diagnostic);
    }
    if (state.final) write_locked(state, state.final_path);
  } catch (...) {
    ++state.dropped;
  }
}

bool write_report_file(const std::string& path_pattern) noexcept {
  ReportState& state = report_state();
  absl::MutexLock lock(&state.mutex);
  try {
    return write_locked(state, path_pattern);
  } catch (...) {
    log_error("out of memory writing report file '" + path_pattern + "'");
    return false;
  }
}

void mark_report_final(const std::string& path_pattern) noexcept {
  ReportState& state = report_state();
  absl::MutexLock lock(&state.mutex);
  try {
    state.final = true;
    state.final_path = path_pattern;
    write_locked(state, path_pattern);
  } catch (...) {
    log_error("out of memory writing report file '" + path_pattern + "'");
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
