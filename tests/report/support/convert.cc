#include "convert.h"

#include <boost/json.hpp>
#include <map>
#include <stdexcept>

#include "support/process.h"

namespace json = boost::json;

namespace {

json::object parse_version_2(const std::string& text) {
  json::object report = json::parse(text).as_object();
  if (report.at("version").as_int64() != 2) throw std::runtime_error("not a version 2 report");
  return report;
}

// Version 1 wrote a trace inline, each frame naming its module by path.
class Inliner {
 public:
  explicit Inliner(const json::object& report) {
    for (const json::value& module : report.at("modules").as_array()) {
      modules_[module.at("id").to_number<std::uint64_t>()] = module.at("path").as_string();
    }
    for (const json::value& trace : report.at("traces").as_array()) {
      traces_[trace.at("id").to_number<std::uint64_t>()] = &trace.at("frames").as_array();
    }
  }

  json::array frames(const json::value* reference) const {
    json::array out;
    if (reference == nullptr) return out;
    const auto found = traces_.find(reference->to_number<std::uint64_t>());
    if (found == traces_.end()) return out;
    for (const json::value& value : *found->second) {
      json::object frame = value.as_object();
      frame["module"] = modules_.at(frame.at("module").to_number<std::uint64_t>());
      out.push_back(std::move(frame));
    }
    return out;
  }

  void inline_traces(json::object& entry) const {
    entry.erase("test");
    for (const char* key : {"allocation_trace", "site_trace", "first_close_trace"}) {
      if (entry.contains(key)) entry[key] = frames(entry.if_contains(key));
    }
  }

 private:
  std::map<std::uint64_t, json::string> modules_;
  std::map<std::uint64_t, const json::array*> traces_;
};

}  // namespace

std::string without_symbols(const std::string& report) {
  json::object out = parse_version_2(report);
  for (json::value& trace : out.at("traces").as_array()) {
    for (json::value& frame : trace.at("frames").as_array()) {
      json::object& fields = frame.as_object();
      fields["function"] = "";
      fields["file"] = "";
      fields["line"] = 0;
    }
  }
  return json::serialize(out) + "\n";
}

std::string as_version_1(const std::string& report) {
  json::object out = parse_version_2(report);
  const Inliner inliner(out);
  std::map<std::uint64_t, json::object> live_by_serial;
  for (json::value& entry : out.at("live").as_array()) {
    inliner.inline_traces(entry.as_object());
    live_by_serial[entry.at("serial").to_number<std::uint64_t>()] = entry.as_object();
  }
  for (json::value& entry : out.at("diagnostics").as_array()) {
    json::object& fields = entry.as_object();
    if (fields.at("type") == "open_at_exit" && !fields.contains("kind")) {
      json::object full = live_by_serial.at(fields.at("serial").to_number<std::uint64_t>());
      full["type"] = "open_at_exit";
      fields = std::move(full);
      continue;
    }
    inliner.inline_traces(fields);
  }
  out["version"] = 1;
  out.erase("modules");
  out.erase("traces");
  return json::serialize(out) + "\n";
}

std::string read_build_id(const std::string& path) {
  const ProcessResult notes = run_process("readelf", {"-n", path});
  const std::string marker = "Build ID: ";
  const std::size_t at = notes.out.find(marker);
  if (at == std::string::npos) return {};
  const std::size_t begin = at + marker.size();
  return notes.out.substr(begin, notes.out.find('\n', begin) - begin);
}
