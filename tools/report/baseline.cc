#include "baseline.h"

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "merge.h"

namespace restrack::report {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = "restrack-report-baseline";

bool parse(const std::string& text, std::vector<FixedSite>& entries, std::string& error) {
  json::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec) {
    error = "$: " + ec.message();
    return false;
  }
  const json::object* object = root.if_object();
  if (object == nullptr) {
    error = "$: expected an object";
    return false;
  }
  const json::value* schema = object->if_contains("schema");
  if (schema == nullptr || !schema->is_string() || schema->get_string() != kSchema) {
    error = "$.schema: not a restrack-report baseline";
    return false;
  }
  const json::value* version = object->if_contains("version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != 1) {
    error = "$.version: this restrack-report reads baseline version 1";
    return false;
  }
  const json::value* array = object->if_contains("traces");
  if (array == nullptr || !array->is_array()) {
    error = "$.traces: expected an array";
    return false;
  }
  for (std::size_t i = 0; i < array->get_array().size(); ++i) {
    const std::string at = "$.traces[" + std::to_string(i) + "]";
    const json::object* entry = array->get_array()[i].if_object();
    if (entry == nullptr) {
      error = at + ": expected an object";
      return false;
    }
    FixedSite& site = entries.emplace_back();
    for (auto [key, out] : {std::pair{"fingerprint", &site.fingerprint},
                            std::pair{"type", &site.type}, std::pair{"kind", &site.kind}}) {
      const json::value* value = entry->if_contains(key);
      if (value == nullptr || !value->is_string()) {
        error = at + "." + key + (value == nullptr ? ": missing" : ": expected a string");
        return false;
      }
      *out = std::string(value->get_string());
    }
    if (const json::value* trace = entry->if_contains("trace"); trace != nullptr) {
      if (!trace->is_array()) {
        error = at + ".trace: expected an array";
        return false;
      }
      for (const json::value& frame : trace->get_array()) {
        if (frame.is_string()) site.trace.emplace_back(frame.get_string());
      }
    }
  }
  return true;
}

}  // namespace

bool write_baseline(const std::string& path, const Merged& merged, std::string& error) {
  struct Entry {
    std::string fingerprint;
    const Site* site;
    std::vector<std::string> trace;
    std::uint64_t problems;
  };
  std::vector<Entry> entries;
  for (const Site& site : merged.sites) {
    for (const SiteTrace& trace : site.traces) {
      entries.push_back(
          Entry{trace.fingerprint, &site, baseline_frames(trace.frames), trace.count});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.trace, a.site->kind, a.fingerprint) <
           std::tie(b.trace, b.site->kind, b.fingerprint);
  });
  std::string text = "{\"schema\":\"restrack-report-baseline\",\"version\":1,\"traces\":[";
  absl::flat_hash_set<std::string> written;
  bool first = true;
  for (const Entry& entry : entries) {
    if (!written.insert(entry.fingerprint).second) continue;
    json::array trace;
    for (const std::string& frame : entry.trace) trace.emplace_back(frame);
    const json::object object{{"fingerprint", entry.fingerprint},
                              {"type", to_string(entry.site->type)},
                              {"kind", entry.site->kind},
                              {"trace", std::move(trace)},
                              {"problems", entry.problems}};
    text.append(first ? "\n  " : ",\n  ").append(json::serialize(object));
    first = false;
  }
  text.append(first ? "]}\n" : "\n]}\n");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool apply_baseline(const std::string& path, Merged& merged, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  std::vector<FixedSite> known;
  std::string problem;
  if (!parse(contents.str(), known, problem)) {
    error = path + ": " + problem;
    return false;
  }
  absl::flat_hash_set<std::string> known_prints;
  for (const FixedSite& entry : known) known_prints.insert(entry.fingerprint);
  absl::flat_hash_set<std::string> present;
  merged.new_problems = 0;
  merged.new_sites = 0;
  for (Site& site : merged.sites) {
    site.status = SiteStatus::known;
    for (SiteTrace& trace : site.traces) {
      present.insert(trace.fingerprint);
      trace.status =
          known_prints.contains(trace.fingerprint) ? SiteStatus::known : SiteStatus::added;
      if (trace.status == SiteStatus::added) {
        merged.new_problems += trace.count;
        site.status = SiteStatus::added;
      }
    }
    if (site.status == SiteStatus::added) ++merged.new_sites;
  }
  merged.fixed.clear();
  for (FixedSite& entry : known) {
    if (!present.contains(entry.fingerprint)) merged.fixed.push_back(std::move(entry));
  }
  merged.baseline_used = true;
  return true;
}

}  // namespace restrack::report
