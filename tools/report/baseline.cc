#include "baseline.h"

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace restrack::report {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = "restrack-report-baseline";

// The member `key` of entry `index` as a string, or an error naming its path.
bool string_member(const json::object& entry, std::string_view key, std::size_t index,
                   std::string& out, std::string& error) {
  const json::value* value = entry.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    error = "$.sites[" + std::to_string(index) + "]." + std::string(key) +
            (value == nullptr ? ": missing" : ": expected a string");
    return false;
  }
  out = std::string(value->get_string());
  return true;
}

bool parse(const std::string& text, std::vector<FixedSite>& sites, std::string& error) {
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
  const json::value* array = object->if_contains("sites");
  if (array == nullptr || !array->is_array()) {
    error = "$.sites: expected an array";
    return false;
  }
  for (std::size_t i = 0; i < array->get_array().size(); ++i) {
    const json::object* entry = array->get_array()[i].if_object();
    if (entry == nullptr) {
      error = "$.sites[" + std::to_string(i) + "]: expected an object";
      return false;
    }
    FixedSite& site = sites.emplace_back();
    if (!string_member(*entry, "fingerprint", i, site.fingerprint, error) ||
        !string_member(*entry, "type", i, site.type, error) ||
        !string_member(*entry, "kind", i, site.kind, error) ||
        !string_member(*entry, "function", i, site.function, error) ||
        !string_member(*entry, "file", i, site.file, error)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool write_baseline(const std::string& path, const Merged& merged, std::string& error) {
  std::vector<const Site*> sites;
  for (const Site& site : merged.sites) sites.push_back(&site);
  std::sort(sites.begin(), sites.end(), [](const Site* a, const Site* b) {
    return std::make_tuple(a->top.file, a->top.function, a->kind, a->fingerprint) <
           std::make_tuple(b->top.file, b->top.function, b->kind, b->fingerprint);
  });
  // Several sites (lines of one function) share a fingerprint: one entry for them all.
  absl::flat_hash_set<std::string> written;
  std::string text = "{\"schema\":\"restrack-report-baseline\",\"version\":1,\"sites\":[";
  bool first = true;
  for (const Site* site : sites) {
    std::uint64_t count = 0;
    for (const Site& other : merged.sites) {
      if (other.fingerprint == site->fingerprint) count += other.count;
    }
    if (!written.insert(site->fingerprint).second) continue;
    const json::object entry{{"fingerprint", site->fingerprint},
                             {"type", to_string(site->type)},
                             {"kind", site->kind},
                             {"function", site->top.function},
                             {"file", site->top.file.empty() ? site->location : site->top.file},
                             {"count", count}};
    text.append(first ? "\n  " : ",\n  ").append(json::serialize(entry));
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
  for (const FixedSite& site : known) known_prints.insert(site.fingerprint);
  absl::flat_hash_set<std::string> present;
  merged.new_problems = 0;
  merged.new_sites = 0;
  for (Site& site : merged.sites) {
    present.insert(site.fingerprint);
    site.status = known_prints.contains(site.fingerprint) ? SiteStatus::known : SiteStatus::added;
    if (site.status == SiteStatus::added) {
      merged.new_problems += site.count;
      ++merged.new_sites;
    }
  }
  merged.fixed.clear();
  for (FixedSite& site : known) {
    if (!present.contains(site.fingerprint)) merged.fixed.push_back(std::move(site));
  }
  merged.baseline_used = true;
  return true;
}

}  // namespace restrack::report
