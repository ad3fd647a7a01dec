#include "merge.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace restrack::report {
namespace {

bool glob_matches(std::string_view pattern, std::string_view text) {
  // Iterative '*' matching with one backtrack point, as GoogleTest's filter does.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool any_pattern_matches(std::string_view patterns, std::string_view text) {
  while (true) {
    const std::size_t colon = patterns.find(':');
    if (glob_matches(patterns.substr(0, colon), text)) return true;
    if (colon == std::string_view::npos) return false;
    patterns.remove_prefix(colon + 1);
  }
}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string module_name(const std::string& module) {
  return std::filesystem::path(module).filename().string();
}

// FNV-1a: a fingerprint must not change between runs, builds or machines, which rules
// out the standard and Abseil hashes.
class Fingerprint {
 public:
  void add(std::string_view text) {
    for (const char c : text) mix(static_cast<unsigned char>(c));
    mix(0);  // field separator
  }
  std::string hex() const {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash_));
    return buffer;
  }

 private:
  void mix(unsigned char byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

void append_frame_key(std::string& key, const Frame& frame) {
  if (frame.symbolized()) {
    key.append(frame.function).append("\x1f").append(frame.file).append(":");
    key.append(std::to_string(frame.line));
  } else {
    key.append(module_name(frame.module)).append("+").append(hex(frame.offset));
  }
  key.append("\x1e");
}

struct SiteBuilder {
  Site site;
  absl::flat_hash_map<std::string, std::size_t> trace_index;
  absl::flat_hash_map<std::string, std::uint64_t> programs;
  absl::flat_hash_map<std::string, std::uint64_t> tests;
  std::uint32_t last_report = UINT32_MAX;
};

std::vector<Count> sorted_counts(const absl::flat_hash_map<std::string, std::uint64_t>& counts) {
  std::vector<Count> out;
  out.reserve(counts.size());
  for (const auto& [name, count] : counts) out.push_back(Count{name, count});
  std::sort(out.begin(), out.end(), [](const Count& a, const Count& b) {
    return a.count != b.count ? a.count > b.count : a.name < b.name;
  });
  return out;
}

}  // namespace

std::vector<std::string> baseline_frames(const Trace& trace) {
  std::vector<std::string> frames;
  frames.reserve(trace.size());
  for (const Frame& frame : trace) {
    if (frame.symbolized()) {
      frames.push_back(frame.function + " in " + frame.file);
    } else {
      frames.push_back(module_name(frame.module) + "+" + hex(frame.offset));
    }
  }
  return frames;
}

bool test_filter_matches(std::string_view filter, std::string_view test) {
  if (filter.empty()) return true;
  const std::size_t dash = filter.find('-');
  const std::string_view positive = filter.substr(0, dash);
  const std::string_view negative =
      dash == std::string_view::npos ? std::string_view() : filter.substr(dash + 1);
  if (!positive.empty() && !any_pattern_matches(positive, test)) return false;
  return negative.empty() || !any_pattern_matches(negative, test);
}

std::string test_label(std::string_view test) {
  return test.empty() ? std::string("(no test)") : std::string(test);
}

std::string frame_text(const Frame& frame) {
  std::string text = frame.function.empty() ? hex(frame.address) : frame.function;
  if (!frame.file.empty()) {
    text.append(" at ").append(frame.file).append(":").append(std::to_string(frame.line));
  } else if (!frame.module.empty()) {
    text.append(" in ").append(frame.module).append("+").append(hex(frame.offset));
  }
  return text;
}

std::string site_label(const Site& site) {
  if (site.traces.empty() || site.traces.front().frames.empty()) {
    return "(no allocation trace; reported at " + site.location + ")";
  }
  const Frame& top = site.top;
  if (!top.symbolized()) return module_name(top.module) + "+" + hex(top.offset);
  if (top.file.empty()) return top.function;
  return (top.function.empty() ? std::string("?") : top.function) + " at " + top.file + ":" +
         std::to_string(top.line);
}

void group_sites(Merged& merged, const Filters& filters) {
  std::vector<SiteBuilder> builders;
  absl::flat_hash_map<std::string, std::size_t> site_index;
  merged.problems = 0;
  std::string site_key;
  std::vector<std::string> trace_keys;
  for (std::uint32_t r = 0; r < merged.reports.size(); ++r) {
    const Report& report = merged.reports[r];
    trace_keys.assign(report.traces.size(), std::string());
    for (std::size_t t = 1; t < report.traces.size(); ++t) {
      for (const Frame& frame : report.traces[t]) append_frame_key(trace_keys[t], frame);
    }
    const auto add = [&](const Problem& problem, std::uint32_t index, bool live) {
      if (!filters.types.empty() && std::find(filters.types.begin(), filters.types.end(),
                                              problem.type) == filters.types.end()) {
        return;
      }
      if (!filters.kinds.empty() && std::find(filters.kinds.begin(), filters.kinds.end(),
                                              problem.kind) == filters.kinds.end()) {
        return;
      }
      if (!test_filter_matches(filters.tests, problem.test)) return;
      const Trace& trace = report.traces[problem.allocation];
      site_key.assign(to_string(problem.type)).append("\x1f").append(problem.kind);
      site_key.append("\x1f");
      if (trace.empty()) {
        site_key.append("@").append(problem.location);
      } else {
        append_frame_key(site_key, trace.front());
      }
      auto [slot, inserted] = site_index.try_emplace(site_key, builders.size());
      if (inserted) {
        SiteBuilder& fresh = builders.emplace_back();
        Site& site = fresh.site;
        site.type = problem.type;
        site.kind = problem.kind;
        site.example = ProblemRef{r, index, live};
        Fingerprint fingerprint;
        fingerprint.add(to_string(problem.type));
        fingerprint.add(problem.kind);
        if (trace.empty()) {
          site.location = problem.location;
          fingerprint.add("@" + problem.location);
        } else {
          site.top = trace.front();
          if (site.top.symbolized()) {
            // Not the line: a site stays the same site when code above it moves.
            fingerprint.add(site.top.function);
            fingerprint.add(site.top.file);
          } else {
            fingerprint.add(module_name(site.top.module));
            fingerprint.add(hex(site.top.offset));
          }
        }
        site.fingerprint = fingerprint.hex();
        site.status = SiteStatus::added;
      }
      SiteBuilder& builder = builders[slot->second];
      Site& site = builder.site;
      ++site.count;
      ++merged.problems;
      if (builder.last_report != r) {
        builder.last_report = r;
        ++site.processes;
        ++builder.programs[report.program];
      }
      ++builder.tests[problem.test];
      auto [trace_slot, new_trace] =
          builder.trace_index.try_emplace(trace_keys[problem.allocation], site.traces.size());
      if (new_trace) {
        Fingerprint fingerprint;
        fingerprint.add(to_string(problem.type));
        fingerprint.add(problem.kind);
        if (trace.empty()) fingerprint.add("@" + problem.location);
        for (const std::string& frame : baseline_frames(trace)) fingerprint.add(frame);
        site.traces.push_back(SiteTrace{trace, 0, fingerprint.hex(), SiteStatus::added});
      }
      ++site.traces[trace_slot->second].count;
    };
    for (std::uint32_t i = 0; i < report.problems.size(); ++i) add(report.problems[i], i, false);
    if (filters.live) {
      absl::flat_hash_set<std::uint64_t> reported;
      for (const Problem& problem : report.problems) {
        if (problem.type == ProblemType::open_at_exit) reported.insert(problem.serial);
      }
      for (std::uint32_t i = 0; i < report.live.size(); ++i) {
        if (!reported.contains(report.live[i].serial)) add(report.live[i], i, true);
      }
    }
  }
  merged.sites.clear();
  merged.sites.reserve(builders.size());
  for (SiteBuilder& builder : builders) {
    Site& site = builder.site;
    site.programs = sorted_counts(builder.programs);
    site.tests = sorted_counts(builder.tests);
    std::stable_sort(site.traces.begin(), site.traces.end(),
                     [](const SiteTrace& a, const SiteTrace& b) { return a.count > b.count; });
    merged.sites.push_back(std::move(site));
  }
  std::stable_sort(merged.sites.begin(), merged.sites.end(),
                   [](const Site& a, const Site& b) { return a.count > b.count; });
  merged.new_problems = merged.problems;
  merged.new_sites = merged.sites.size();
}

}  // namespace restrack::report
