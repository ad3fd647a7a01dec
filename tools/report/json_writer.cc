// The merged model as JSON, schema "restrack-report-merged" (docs/report-tool.md).
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "merge.h"
#include "writers.h"

namespace restrack::report {
namespace {

namespace json = boost::json;

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

void add_raw(json::object& object, const RawFields& raw) {
  for (const auto& [name, bytes] : raw) object[name + "_base64"] = bytes;
}

json::object frame_json(const Frame& frame) {
  json::object out{{"function", frame.function},   {"file", frame.file},
                   {"line", frame.line},           {"module", frame.module},
                   {"build_id", frame.build_id},   {"offset", hex(frame.offset)},
                   {"address", hex(frame.address)}};
  add_raw(out, frame.raw);
  return out;
}

json::array trace_json(const Trace& trace) {
  json::array frames;
  frames.reserve(trace.size());
  for (const Frame& frame : trace) frames.push_back(frame_json(frame));
  return frames;
}

const char* status_name(SiteStatus status) { return status == SiteStatus::known ? "known" : "new"; }

}  // namespace

std::string write_json(const Merged& merged) {
  absl::flat_hash_map<std::string, std::uint64_t> program_counts;
  for (const Report& report : merged.reports) ++program_counts[report.program];
  std::vector<std::pair<std::string, std::uint64_t>> programs(program_counts.begin(),
                                                              program_counts.end());
  std::sort(programs.begin(), programs.end());
  json::array program_array;
  for (const auto& [name, count] : programs) {
    program_array.push_back(json::object{{"program", name}, {"processes", count}});
  }
  json::array skipped;
  for (const Skipped& s : merged.skipped) {
    skipped.push_back(json::object{{"file", s.file}, {"error", s.error}});
  }

  absl::flat_hash_map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_test;
  json::array sites;
  for (const Site& site : merged.sites) {
    const Report& report = merged.reports[site.example.report];
    const Problem& example = problem_at(merged, site.example);
    json::object example_json{{"report", report.file},
                              {"program", report.program},
                              {"pid", report.pid},
                              {"test", example.test},
                              {"description", example.description},
                              {"location", example.location},
                              {"thread", example.thread},
                              {"serial", example.serial},
                              {"age_ns", example.age_ns},
                              {"message", warning_text(report, example)}};
    add_raw(example_json, example.raw);
    if (example.site != 0) example_json["site_trace"] = trace_json(report.traces[example.site]);
    if (example.first_close != 0) {
      example_json["first_close_trace"] = trace_json(report.traces[example.first_close]);
    }
    json::array tests;
    for (const Count& test : site.tests) {
      tests.push_back(json::object{{"test", test.name}, {"problems", test.count}});
      auto& [problems, count_sites] = per_test[test.name];
      problems += test.count;
      ++count_sites;
    }
    json::array site_programs;
    for (const Count& program : site.programs) {
      site_programs.push_back(
          json::object{{"program", program.name}, {"processes", program.count}});
    }
    json::array traces;
    for (const SiteTrace& trace : site.traces) {
      traces.push_back(json::object{{"fingerprint", trace.fingerprint},
                                    {"status", status_name(trace.status)},
                                    {"problems", trace.count},
                                    {"frames", trace_json(trace.frames)}});
    }
    json::object entry{{"fingerprint", site.fingerprint}, {"status", status_name(site.status)},
                       {"type", to_string(site.type)},    {"kind", site.kind},
                       {"label", site_label(site)},       {"problems", site.count},
                       {"processes", site.processes},     {"programs", std::move(site_programs)},
                       {"tests", std::move(tests)},       {"example", std::move(example_json)},
                       {"traces", std::move(traces)}};
    if (site.traces.empty() || site.traces.front().frames.empty())
      entry["location"] = site.location;
    sites.push_back(std::move(entry));
  }

  std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>> test_rows(
      per_test.begin(), per_test.end());
  std::sort(test_rows.begin(), test_rows.end(), [](const auto& a, const auto& b) {
    if (a.second.first != b.second.first) return a.second.first > b.second.first;
    return a.first < b.first;
  });
  json::array tests;
  for (const auto& [name, counts] : test_rows) {
    tests.push_back(
        json::object{{"test", name}, {"problems", counts.first}, {"sites", counts.second}});
  }
  json::array fixed;
  for (const FixedSite& site : merged.fixed) {
    json::array trace;
    for (const std::string& frame : site.trace) trace.emplace_back(frame);
    fixed.push_back(json::object{{"fingerprint", site.fingerprint},
                                 {"type", site.type},
                                 {"kind", site.kind},
                                 {"trace", std::move(trace)}});
  }
  std::uint64_t not_recorded = 0;
  for (const Report& report : merged.reports) not_recorded += report.not_recorded;

  const json::object document{{"schema", "restrack-report-merged"},
                              {"version", kMergedJsonVersion},
                              {"inputs", json::object{{"reports", merged.reports.size()},
                                                      {"programs", std::move(program_array)},
                                                      {"skipped", std::move(skipped)},
                                                      {"not_recorded", not_recorded}}},
                              {"totals", json::object{{"problems", merged.problems},
                                                      {"sites", merged.sites.size()},
                                                      {"baseline", merged.baseline_used},
                                                      {"new_problems", merged.new_problems},
                                                      {"new_sites", merged.new_sites},
                                                      {"fixed_traces", merged.fixed.size()}}},
                              {"sites", std::move(sites)},
                              {"tests", std::move(tests)},
                              {"fixed", std::move(fixed)}};
  return json::serialize(document) + "\n";
}

}  // namespace restrack::report
