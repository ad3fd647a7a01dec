// SARIF 2.1.0: one result per site at its first user frame, each distinct allocation
// trace as a code flow from the outermost frame in to the allocation, paths relative to
// the source root (uriBaseId SRCROOT) so that code-scanning UIs place them in the tree.
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "merge.h"
#include "writers.h"

namespace restrack::report {
namespace {

namespace json = boost::json;

struct Rule {
  ProblemType type;
  const char* id;
  const char* name;
  const char* text;
};

// Indexed by ProblemType.
constexpr Rule kRules[] = {
    {ProblemType::unclosed, "restrack/unclosed", "UnclosedResource",
     "A resource was destroyed without being closed; restrack closed it."},
    {ProblemType::closed_twice, "restrack/closed-twice", "ResourceClosedTwice",
     "A resource was closed again after it had been closed."},
    {ProblemType::used_after_close, "restrack/used-after-close", "ResourceUsedAfterClose",
     "A resource was used after it had been closed."},
    {ProblemType::open_at_exit, "restrack/open-at-exit", "ResourceOpenAtExit",
     "A resource was still open when the process exited."},
    {ProblemType::destroyed_pending, "restrack/destroyed-pending", "DestroyedWhilePending",
     "A task or operation was destroyed while its work was still pending."},
    {ProblemType::exception_never_retrieved, "restrack/exception-never-retrieved",
     "ExceptionNeverRetrieved", "A task failed and nothing ever looked at its exception."},
    {ProblemType::closed_not_open, "restrack/closed-not-open", "ClosedWhileNotOpen",
     "A descriptor was closed while it was not open (a double close that may close another "
     "owner's descriptor)."},
    {ProblemType::closed_behind_owner, "restrack/closed-behind-owner", "ClosedBehindOwner",
     "A descriptor was closed while a restrack owner still held it."},
};
static_assert(std::size(kRules) == kProblemTypeCount, "one SARIF rule per problem type");

std::string percent_encode(std::string_view path) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kDigits[byte >> 4];
      out += kDigits[byte & 0xf];
    }
  }
  return out;
}

class Locations {
 public:
  explicit Locations(std::string root) : root_(std::move(root)) {
    if (!root_.empty() && root_.back() != '/') root_ += '/';
  }

  const std::string& root() const { return root_; }

  // A physicalLocation for a frame with a source file; null otherwise.
  json::value physical(const Frame& frame) const {
    if (frame.file.empty()) return nullptr;
    json::object artifact;
    if (frame.file.front() != '/') {
      artifact = {{"uri", percent_encode(frame.file)}, {"uriBaseId", "SRCROOT"}};
    } else if (frame.file.starts_with(root_)) {
      artifact = {{"uri", percent_encode(frame.file.substr(root_.size()))},
                  {"uriBaseId", "SRCROOT"}};
    } else {
      artifact = {{"uri", "file://" + percent_encode(frame.file)}};
    }
    json::object location{{"artifactLocation", std::move(artifact)}};
    if (frame.line > 0) location["region"] = json::object{{"startLine", frame.line}};
    return location;
  }

  json::object location(const Frame& frame, bool with_message) const {
    json::object out;
    json::value physical_location = physical(frame);
    if (!physical_location.is_null()) out["physicalLocation"] = std::move(physical_location);
    if (!frame.function.empty()) {
      out["logicalLocations"] =
          json::array{json::object{{"fullyQualifiedName", frame.function}, {"kind", "function"}}};
    }
    if (with_message) out["message"] = json::object{{"text", frame_text(frame)}};
    return out;
  }

 private:
  std::string root_;
};

std::string result_message(const Merged& merged, const Site& site) {
  const Problem& example = problem_at(merged, site.example);
  std::string text = problem_label(site.type) + " " + site.kind + " <" + example.description +
                     ">: " + std::to_string(site.count) + (site.count == 1 ? " time" : " times") +
                     " in " + std::to_string(site.processes) +
                     (site.processes == 1 ? " process" : " processes");
  std::string tests;
  for (const Count& test : site.tests) {
    if (!test.name.empty()) tests += (tests.empty() ? "" : ", ") + test.name;
  }
  if (!tests.empty()) text += " (tests: " + tests + ")";
  return text + ".";
}

}  // namespace

std::string write_sarif(const Merged& merged, const std::string& source_root) {
  const Locations locations(source_root);
  json::array rules;
  for (const Rule& rule : kRules) {
    rules.push_back(json::object{{"id", rule.id},
                                 {"name", rule.name},
                                 {"shortDescription", json::object{{"text", rule.text}}},
                                 {"defaultConfiguration", json::object{{"level", "warning"}}}});
  }
  json::array results;
  for (const Site& site : merged.sites) {
    const auto rule_index = static_cast<std::size_t>(site.type);
    json::object result{{"ruleId", kRules[rule_index].id},
                        {"ruleIndex", rule_index},
                        {"level", "warning"},
                        {"message", json::object{{"text", result_message(merged, site)}}}};
    const bool has_trace = !site.traces.empty() && !site.traces.front().frames.empty();
    if (has_trace) {
      result["locations"] = json::array{locations.location(site.top, false)};
      json::array flows;
      for (const SiteTrace& trace : site.traces) {
        json::array steps;
        // A code flow runs in execution order: main first, the allocation last.
        for (std::size_t i = trace.frames.size(); i-- > 0;) {
          steps.push_back(json::object{{"location", locations.location(trace.frames[i], true)},
                                       {"nestingLevel", trace.frames.size() - 1 - i}});
        }
        flows.push_back(json::object{
            {"message",
             json::object{{"text", "Allocation trace seen " + std::to_string(trace.count) +
                                       (trace.count == 1 ? " time" : " times")}}},
            {"threadFlows", json::array{json::object{{"locations", std::move(steps)}}}}});
      }
      result["codeFlows"] = std::move(flows);
    } else {
      // Without a trace, the place where it was reported: "file:line".
      Frame reported;
      const std::size_t colon = site.location.rfind(':');
      if (colon != std::string::npos && site.location.front() != '<') {
        reported.file = site.location.substr(0, colon);
        reported.line = static_cast<unsigned>(std::atoi(site.location.c_str() + colon + 1));
        result["locations"] = json::array{locations.location(reported, false)};
      }
    }
    result["partialFingerprints"] = json::object{{"restrackSite/v1", site.fingerprint}};
    if (merged.baseline_used) {
      result["baselineState"] = site.status == SiteStatus::known ? "unchanged" : "new";
      std::size_t new_traces = 0;
      for (const SiteTrace& trace : site.traces) new_traces += trace.status == SiteStatus::added;
      result["properties"] = json::object{{"newTraces", new_traces}};
    }
    json::array tests;
    for (const Count& test : site.tests) {
      if (!test.name.empty()) tests.push_back(json::string(test.name));
    }
    json::value& properties_value = result["properties"];
    if (!properties_value.is_object()) properties_value.emplace_object();
    json::object& properties = properties_value.as_object();
    properties["kind"] = site.kind;
    properties["problems"] = site.count;
    properties["processes"] = site.processes;
    properties["tests"] = std::move(tests);
    results.push_back(std::move(result));
  }
  const json::object document{
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       json::array{json::object{
           {"tool", json::object{{"driver", json::object{{"name", "restrack-report"},
                                                         {"semanticVersion", "0.1.0"},
                                                         {"rules", std::move(rules)}}}}},
           {"originalUriBaseIds",
            json::object{
                {"SRCROOT", json::object{{"uri", "file://" + percent_encode(locations.root())}}}}},
           {"columnKind", "unicodeCodePoints"},
           {"results", std::move(results)}}}}};
  return json::serialize(document) + "\n";
}

}  // namespace restrack::report
