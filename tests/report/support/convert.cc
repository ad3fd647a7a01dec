#include "convert.h"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "process.h"

namespace json = boost::json;

namespace {

struct TestRange {
  std::string name;
  std::uint64_t begin = 0;  // open serials in (begin, end] happened during the test
  std::uint64_t end = 0;
};

struct Blame {
  std::vector<TestRange> tests;
  std::map<std::pair<std::uint64_t, std::string>, std::string> during;  // (serial, type)

  std::string test_for(std::uint64_t serial, const std::string& type) const {
    if (const auto found = during.find({serial, type}); found != during.end()) {
      return found->second;
    }
    for (const TestRange& test : tests) {
      if (serial > test.begin && serial <= test.end) return test.name;
    }
    return {};
  }
};

Blame read_blame(const std::string& path) {
  Blame blame;
  if (path.empty()) return blame;
  std::ifstream in(path);
  std::string word;
  while (in >> word) {
    if (word == "test") {
      TestRange range;
      in >> range.name >> range.begin >> range.end;
      blame.tests.push_back(range);
    } else if (word == "diagnostic") {
      std::uint64_t serial = 0;
      std::string type;
      std::string test;
      in >> serial >> type >> test;
      blame.during[{serial, type}] = test;
    }
  }
  return blame;
}

class Converter {
 public:
  Converter(const ConvertOptions& options) : options_(options) {}

  std::uint64_t trace(const json::value& frames_value) {
    const json::array& frames = frames_value.as_array();
    if (frames.empty()) return 0;
    json::array out;
    for (const json::value& value : frames) {
      const json::object& frame = value.as_object();
      const std::string module(frame.at("module").as_string());
      auto [slot, added] = module_ids_.try_emplace(module, module_ids_.size());
      if (added) {
        modules_.push_back(
            json::object{{"id", slot->second},
                         {"path", module},
                         {"build_id", options_.build_ids ? read_build_id(module) : std::string()}});
      }
      json::object converted{{"address", frame.at("address")}, {"module", slot->second},
                             {"offset", frame.at("offset")},   {"function", frame.at("function")},
                             {"file", frame.at("file")},       {"line", frame.at("line")}};
      if (options_.strip_symbols) {
        converted["function"] = "";
        converted["file"] = "";
        converted["line"] = 0;
      }
      out.push_back(std::move(converted));
    }
    const std::uint64_t id = traces_.size() + 1;
    traces_.push_back(json::object{{"id", id}, {"frames", std::move(out)}});
    return id;
  }

  json::array modules_;
  json::array traces_;

 private:
  const ConvertOptions& options_;
  std::map<std::string, std::uint64_t> module_ids_;
};

}  // namespace

std::string read_build_id(const std::string& path) {
  const ProcessResult notes = run_process("readelf", {"-n", path});
  const std::string marker = "Build ID: ";
  const std::size_t at = notes.out.find(marker);
  if (at == std::string::npos) return {};
  const std::size_t begin = at + marker.size();
  return notes.out.substr(begin, notes.out.find('\n', begin) - begin);
}

std::string convert_v1_to_v2(const std::string& v1, const ConvertOptions& options) {
  const json::object in = json::parse(v1).as_object();
  if (in.at("version").as_int64() != 1) throw std::runtime_error("not a version 1 report");
  const Blame blame = read_blame(options.test_names);
  Converter converter(options);
  json::array live;
  for (const json::value& value : in.at("live").as_array()) {
    const json::object& entry = value.as_object();
    json::object out{{"kind", entry.at("kind")},
                     {"description", entry.at("description")},
                     {"thread", entry.at("thread")},
                     {"age_ns", entry.at("age_ns")},
                     {"serial", entry.at("serial")},
                     {"allocation_trace", converter.trace(entry.at("allocation_trace"))}};
    const std::string test =
        blame.test_for(entry.at("serial").to_number<std::uint64_t>(), "open_at_exit");
    if (!test.empty()) out["test"] = test;
    live.push_back(std::move(out));
  }
  json::array diagnostics;
  for (const json::value& value : in.at("diagnostics").as_array()) {
    const json::object& entry = value.as_object();
    const std::string type(entry.at("type").as_string());
    const auto serial = entry.at("serial").to_number<std::uint64_t>();
    const std::string test = blame.test_for(serial, type);
    json::object out{{"type", type}, {"serial", serial}};
    if (type != "open_at_exit") {
      out["kind"] = entry.at("kind");
      out["description"] = entry.at("description");
      out["thread"] = entry.at("thread");
      out["age_ns"] = entry.at("age_ns");
      out["location"] = entry.at("location");
      out["allocation_trace"] = converter.trace(entry.at("allocation_trace"));
      for (const char* key : {"site_trace", "first_close_trace"}) {
        if (const json::value* frames = entry.if_contains(key)) {
          if (const std::uint64_t id = converter.trace(*frames); id != 0) out[key] = id;
        }
      }
    }
    if (!test.empty()) out["test"] = test;
    diagnostics.push_back(std::move(out));
  }
  const json::object report{{"schema", "restrack-report"},
                            {"version", 2},
                            {"pid", in.at("pid")},
                            {"program", in.at("program")},
                            {"options", in.at("options")},
                            {"counts", in.at("counts")},
                            {"modules", std::move(converter.modules_)},
                            {"traces", std::move(converter.traces_)},
                            {"diagnostics", std::move(diagnostics)},
                            {"live", std::move(live)}};
  return json::serialize(report) + "\n";
}
