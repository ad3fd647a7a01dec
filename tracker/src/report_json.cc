// The JSON report, schema version 2 (docs/report-format.md): streamed to the file, with
// each distinct trace written once in a table that diagnostics and live resources refer
// to by id. The store records dispatched diagnostics only while a report is configured.
//
// Layout: header, "live", "diagnostics", then the tail — "counts", "traces", "modules".
// A diagnostic dispatched after the exit report was written (a static object destroyed
// later still) is added by rewriting only the tail, from formatted pieces kept in memory:
// nothing is symbolized or described twice.
#include "report_json.h"

#include <absl/container/flat_hash_map.h>
#include <absl/strings/escaping.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>

#include "dispatch.h"
#include "logging.h"
#include "no_destructor.h"
#include "own_descriptors.h"
#include "platform.h"
#include "registry.h"
#include "report_file.h"
#include "restrack/live.h"
#include "restrack/report.h"
#include "settings.h"
#include "symbolize.h"
#include "text.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::size_t kMaxRecords = 100'000;

// ---- JSON text -------------------------------------------------------------------------

// Length of the valid UTF-8 sequence at `text[at]`, or 0 if the byte starts none.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  unsigned minimum = 0;
  unsigned code = 0;
  if (byte < 0x80) return 1;
  if ((byte & 0xE0) == 0xC0) {
    length = 2;
    minimum = 0x80;
    code = byte & 0x1F;
  } else if ((byte & 0xF0) == 0xE0) {
    length = 3;
    minimum = 0x800;
    code = byte & 0x0F;
  } else if ((byte & 0xF8) == 0xF0) {
    length = 4;
    minimum = 0x10000;
    code = byte & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// `"key":"value"` with JSON escapes; bytes that are not UTF-8 become U+FFFD and the raw
// value follows as `"key_base64":"..."`, so nothing is lost and every reader can parse it.
void append_string_field(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":\"";
  bool lossy = false;
  for (std::size_t i = 0; i < value.size();) {
    const char c = value[i];
    const std::size_t length = utf8_length(value, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      lossy = true;
      ++i;
      continue;
    }
    if (length > 1) {
      out.append(value.substr(i, length));
      i += length;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
    ++i;
  }
  out += '"';
  if (lossy) {
    append(out, ",\"", key, "_base64\":\"",
           absl::Base64Escape(absl::string_view(value.data(), value.size())), "\"");
  }
}

std::string hex(std::uintptr_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", static_cast<std::size_t>(value));
  return buffer;
}

// ---- The store -------------------------------------------------------------------------

struct Record {
  Diagnostic diagnostic;
  std::uint32_t label = 0;
};

// A change of the report label, and where in the sequence of opens it happened.
struct LabelChange {
  std::vector<std::uint64_t> shard_serials;
  std::uint32_t label;
};

class ReportStore final : public DiagnosticHandler {
 public:
  void on_diagnostic(const Diagnostic& diagnostic) noexcept override {
    // Nothing is kept unless a report will be written.
    if (!hot_settings().reporting()) return;
    std::lock_guard lock(mutex_);
    try {
      if (records_.size() >= kMaxRecords) {
        ++not_recorded_;
      } else {
        Record& record = records_.emplace_back(Record{diagnostic, current_label_});
        // A resource still open at exit is listed in "live": the record only points at it.
        if (diagnostic.type == DiagnosticType::open_at_exit) record.diagnostic.description.clear();
      }
      if (final_written_) append_late(records_.back());
    } catch (...) {
      ++not_recorded_;
    }
  }

  void set_label(std::string_view label) noexcept {
    std::lock_guard lock(mutex_);
    try {
      const auto known = std::find(labels_.begin(), labels_.end(), label);
      current_label_ = static_cast<std::uint32_t>(known - labels_.begin());
      if (known == labels_.end()) labels_.emplace_back(label);
      label_changes_.push_back(LabelChange{shard_serials(), current_label_});
    } catch (...) {
    }
  }

  bool write(const std::string& pattern, bool final) noexcept {
    const OwnDescriptorScope own;  // the report file
    std::lock_guard lock(mutex_);
    try {
      return write_locked(pattern, final);
    } catch (...) {
      log_error("out of memory writing report file '" + pattern + "'");
      return false;
    }
  }

  void lock() noexcept { mutex_.lock(); }
  void unlock() noexcept { mutex_.unlock(); }

 private:
  // ---- Pieces --------------------------------------------------------------------------

  // The label of a resource opened with `serial`: that of the last change before the
  // open. Changes are in order, so "the open came after it" holds for a prefix of them.
  std::uint32_t label_of_open(std::uint64_t serial) const {
    const auto shard = static_cast<std::size_t>(serial >> 48);
    const std::uint64_t local = serial & ((std::uint64_t{1} << 48) - 1);
    const auto after = std::partition_point(
        label_changes_.begin(), label_changes_.end(), [&](const LabelChange& change) {
          return shard >= change.shard_serials.size() || local > change.shard_serials[shard];
        });
    return after == label_changes_.begin() ? 0 : std::prev(after)->label;
  }

  void append_label(std::string& out, std::uint32_t label) const {
    if (label != 0 && label < labels_.size()) {
      out += ',';
      append_string_field(out, "test", labels_[label]);
    }
  }

  void append_trace_ref(std::string& out, std::string_view key, TraceId id) {
    if (id == kNoTrace || id == kTraceWalkStopped) return;
    append(out, ",\"", key, "\":", id);
    traces_.insert(id);
  }

  std::string live_entry(const ResourceInfo& info) {
    std::string out = "{";
    append_string_field(out, "kind", info.kind);
    out += ',';
    append_string_field(out, "description", info.description);
    append(out, ",\"thread\":", info.thread_id, ",\"age_ns\":", info.age.count(),
           ",\"serial\":", info.serial);
    append_trace_ref(out, "allocation_trace", info.allocation_trace);
    append_label(out, label_of_open(info.serial));
    out += '}';
    return out;
  }

  std::string diagnostic_entry(const Record& record) {
    const Diagnostic& d = record.diagnostic;
    std::string out = "{";
    append_string_field(out, "type", to_string(d.type));
    if (d.type == DiagnosticType::open_at_exit) {
      append(out, ",\"serial\":", d.serial);
      append_label(out, record.label);
      out += '}';
      return out;
    }
    out += ',';
    append_string_field(out, "kind", d.kind);
    out += ',';
    append_string_field(out, "description", d.description);
    append(out, ",\"thread\":", d.thread_id, ",\"age_ns\":", d.age.count(),
           ",\"serial\":", d.serial, ",");
    append_string_field(out, "location", format_location(d.site_trace));
    append_trace_ref(out, "allocation_trace", d.allocation_trace);
    append_trace_ref(out, "site_trace", d.site_trace);
    if (d.type == DiagnosticType::closed_twice || d.type == DiagnosticType::used_after_close ||
        d.type == DiagnosticType::closed_not_open) {
      append_trace_ref(out, "first_close_trace", d.first_close_trace);
    }
    append_label(out, record.label);
    out += '}';
    return out;
  }

  // A trace's entry in the table, formatted once per process when all its frames could
  // be symbolized (one symbolized while the symbols could not be read is tried again).
  std::string trace_entry(TraceId id) {
    const auto known = trace_json_.find(id);
    if (known != trace_json_.end()) return known->second;
    std::string out = concat("{\"id\":", id, ",\"frames\":[");
    bool first = true;
    bool resolved = true;
    for (const Frame& frame : symbolize_trace(id)) {
      resolved = resolved && !frame.function.empty();
      if (!first) out += ',';
      first = false;
      const ModuleInfo module = cached_module_of(frame.address);
      append(out, "{\"address\":\"", hex(frame.address), "\",\"module\":", module_id(module),
             ",\"offset\":\"", hex(frame.offset), "\",");
      append_string_field(out, "function", frame.function);
      out += ',';
      append_string_field(out, "file", frame.file);
      append(out, ",\"line\":", frame.line, "}");
    }
    out += "]}";
    if (resolved) trace_json_.emplace(id, out);
    return out;
  }

  std::uint32_t module_id(const ModuleInfo& module) {
    for (std::uint32_t i = 0; i < modules_.size(); ++i) {
      if (modules_[i].path == module.path && modules_[i].base == module.base) return i;
    }
    modules_.push_back(module);
    return static_cast<std::uint32_t>(modules_.size() - 1);
  }

  // "counts", "traces" and "modules": everything after the diagnostics array.
  std::string tail() {
    const DiagnosticCounts counts = diagnostic_counts();
    std::string out = concat(
        "],\"counts\":{\"dispatched\":", counts.dispatched, ",\"suppressed\":", counts.suppressed,
        ",\"repeated\":", counts.repeated, ",\"errors\":", counts.errors,
        ",\"dropped\":", counts.dropped, ",\"not_recorded\":", not_recorded_, "},\"traces\":[");
    bool first = true;
    for (TraceId id : traces_) {
      if (!first) out += ',';
      first = false;
      out += trace_entry(id);
    }
    out += "],\"modules\":[";
    for (std::uint32_t i = 0; i < modules_.size(); ++i) {
      if (i > 0) out += ',';
      append(out, "{\"id\":", i, ",");
      append_string_field(out, "path", modules_[i].path);
      out += ',';
      append_string_field(out, "build_id", modules_[i].build_id);
      out += '}';
    }
    out += "]}\n";
    return out;
  }

  std::string header() {
    const Options options = settings();
    const ModuleInfo program = cached_module_of(reinterpret_cast<std::uintptr_t>(&hex));
    std::string out =
        concat("{\"schema\":\"restrack-report\",\"version\":2,\"pid\":", current_process_id(), ",");
    append_string_field(out, "program", program.path);
    append(out, ",\"options\":{\"enabled\":", options.enabled ? "true" : "false",
           ",\"trace_depth\":", options.trace_depth, ",\"capture\":\"", to_string(options.capture),
           "\",\"action\":\"", to_string(options.action),
           "\",\"report_at_exit\":", options.report_at_exit ? "true" : "false",
           ",\"exit_code\":", options.exit_code, ",");
    append_string_field(out, "suppressions", options.suppressions);
    out += "},\"live\":[";
    return out;
  }

  // ---- Writing -------------------------------------------------------------------------

  static std::string expand(const std::string& pattern) {
    std::string path;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'p') {
        path += std::to_string(current_process_id());
        ++i;
      } else if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == '%') {
        path += '%';
        ++i;
      } else {
        path += pattern[i];
      }
    }
    return path;
  }

  void failed(const std::string& path, const std::string& reason) {
    // Named once however often the write is retried.
    if (failed_path_ == path) return;
    failed_path_ = path;
    log_error("cannot write report file '" + path + "' (" + reason + ")");
  }

  bool write_locked(const std::string& pattern, bool final) {
    const std::string path = expand(pattern);
    std::string error;
    std::unique_ptr<ReportFile> file = ReportFile::create(path, &error);
    if (file == nullptr) {
      failed(path, error);
      return false;
    }
    traces_.clear();
    file->write(header());
    bool first = true;
    for_each_live(nullptr, [&](std::vector<ResourceInfo>& batch) {
      for (const ResourceInfo& info : batch) {
        if (!first) file->write(",");
        first = false;
        file->write(live_entry(info));
      }
    });
    file->write("],\"diagnostics\":[");
    first = true;
    for (const Record& record : records_) {
      if (!first) file->write(",");
      first = false;
      file->write(diagnostic_entry(record));
    }
    const std::uint64_t diagnostics_end = file->offset();
    file->write(tail());
    if (!file->finish(&error)) {
      failed(path, error);
      return false;
    }
    if (final) {
      final_written_ = file->patchable();
      final_target_ = file->target();
      diagnostics_end_ = diagnostics_end;
      any_diagnostic_ = !records_.empty();
    }
    return true;
  }

  // A diagnostic after the exit report: rewrite the tail only.
  void append_late(const Record& record) {
    const OwnDescriptorScope own;  // the report file, patched
    std::string entry = (any_diagnostic_ ? "," : "") + diagnostic_entry(record);
    std::string error;
    if (!ReportFile::patch(final_target_, diagnostics_end_, entry + tail(), &error)) {
      failed(final_target_, error);
      final_written_ = false;
      return;
    }
    diagnostics_end_ += entry.size();
    any_diagnostic_ = true;
  }

  std::mutex mutex_;
  std::deque<Record> records_;
  std::uint64_t not_recorded_ = 0;
  std::vector<std::string> labels_{""};
  std::vector<LabelChange> label_changes_;
  std::uint32_t current_label_ = 0;
  std::set<TraceId> traces_;  // referenced by what was written
  absl::flat_hash_map<TraceId, std::string> trace_json_;
  std::vector<ModuleInfo> modules_;
  std::string failed_path_;
  bool final_written_ = false;
  std::string final_target_;
  std::uint64_t diagnostics_end_ = 0;
  bool any_diagnostic_ = false;
};

ReportStore& store() noexcept {
  static NoDestructor<ReportStore> instance;
  return *instance;
}

}  // namespace

void install_report_store() noexcept { set_report_handler(&store()); }

bool write_exit_report(const std::string& pattern) noexcept { return store().write(pattern, true); }

void lock_report_for_fork() noexcept { store().lock(); }
void unlock_report_after_fork() noexcept { store().unlock(); }

}  // namespace internal

bool write_report(std::string_view path) noexcept {
  try {
    return internal::store().write(std::string(path), false);
  } catch (...) {
    return false;
  }
}

void set_report_label(std::string_view label) noexcept { internal::store().set_label(label); }

RESTRACK_NAMESPACE_END
