// RESTRACK_OPTIONS parsing and the suppressions file.
#include <absl/synchronization/mutex.h>

#include <charconv>
#include <fstream>
#include <regex>

#include "no_destructor.h"
#include "restrack/options.h"
#include "runtime.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

constexpr std::string_view kKnownKeys =
    "enabled, trace_depth, capture, action, report, report_at_exit, exit_code, suppressions";

std::string_view strip(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool consume_prefix(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool parse_bool(std::string_view value, bool& out) {
  if (value == "1" || value == "true") {
    out = true;
  } else if (value == "0" || value == "false") {
    out = false;
  } else {
    return false;
  }
  return true;
}

bool parse_int(std::string_view value, int low, int high, int& out) {
  int parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || parsed < low || parsed > high) {
    return false;
  }
  out = parsed;
  return true;
}

bool parse_action(std::string_view value, Action& out) {
  static constexpr std::pair<std::string_view, Action> kActions[] = {
      {"ignore", Action::ignore}, {"warn", Action::warn},   {"once", Action::once},
      {"error", Action::error},   {"abort", Action::abort},
  };
  for (const auto& [name, action] : kActions) {
    if (value == name) {
      out = action;
      return true;
    }
  }
  return false;
}

}  // namespace

Options parse_options(std::string_view text, const Options& base,
                      std::vector<std::string>* errors) {
  Options options = base;
  auto fail = [errors](std::string message) {
    if (errors != nullptr) errors->push_back(std::move(message));
  };
  while (!text.empty()) {
    const std::size_t colon = text.find(':');
    const std::string_view item = strip(text.substr(0, colon));
    text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    if (item.empty()) continue;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      fail("option " + quoted(item) + " has no value (expected key=value)");
      continue;
    }
    const std::string_view key = strip(item.substr(0, equals));
    const std::string_view value = strip(item.substr(equals + 1));
    auto bad_value = [&](const std::string& expected) {
      fail("bad value " + quoted(value) + " for option " + quoted(key) + " (expected " + expected +
           ")");
    };
    if (key == "enabled") {
      if (!parse_bool(value, options.enabled)) bad_value("0 or 1");
    } else if (key == "trace_depth") {
      if (!parse_int(value, 0, kMaxTraceDepth, options.trace_depth)) {
        bad_value("a number from 0 to " + std::to_string(kMaxTraceDepth));
      }
    } else if (key == "capture") {
      if (value == "fp") {
        options.capture = CaptureMethod::frame_pointer;
      } else if (value == "dwarf") {
        options.capture = CaptureMethod::dwarf;
      } else {
        bad_value("fp or dwarf");
      }
    } else if (key == "action") {
      if (!parse_action(value, options.action)) bad_value("ignore, warn, once, error or abort");
    } else if (key == "report") {
      options.report = std::string(value);
    } else if (key == "report_at_exit") {
      if (!parse_bool(value, options.report_at_exit)) bad_value("0 or 1");
    } else if (key == "exit_code") {
      if (!parse_int(value, 0, 255, options.exit_code)) bad_value("a number from 0 to 255");
    } else if (key == "suppressions") {
      options.suppressions = std::string(value);
    } else {
      fail("unknown option " + quoted(key) + " (known options: " + std::string(kKnownKeys) + ")");
    }
  }
  return options;
}

namespace internal {
namespace {

struct SuppressionRules {
  absl::Mutex mutex;
  std::vector<std::string> kinds;
  std::vector<std::regex> sites;
  bool any = false;
};

SuppressionRules& suppression_rules() {
  static NoDestructor<SuppressionRules> rules;
  return *rules;
}

}  // namespace

void load_suppressions(const std::string& path, std::vector<std::string>* errors) noexcept {
  std::vector<std::string> kinds;
  std::vector<std::regex> sites;
  try {
    if (!path.empty()) {
      std::ifstream in(path);
      if (!in) {
        errors->push_back("cannot read suppressions file " + quoted(path) +
                          "; continuing without suppressions");
      }
      std::string line;
      for (int number = 1; in && std::getline(in, line); ++number) {
        std::string_view rule = strip(line);
        if (rule.empty() || rule.front() == '#') continue;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (consume_prefix(rule, "kind:")) {
          kinds.emplace_back(strip(rule));
        } else if (consume_prefix(rule, "site:")) {
          try {
            sites.emplace_back(std::string(rule), std::regex::ECMAScript | std::regex::optimize);
          } catch (const std::regex_error& e) {
            errors->push_back(where + "bad regular expression " + quoted(rule) + " (" + e.what() +
                              "); rule skipped");
          }
        } else {
          errors->push_back(where + "expected 'kind:NAME' or 'site:REGEX', got " + quoted(rule) +
                            "; rule skipped");
        }
      }
    }
  } catch (...) {
    errors->push_back("out of memory reading suppressions file " + quoted(path));
  }
  SuppressionRules& rules = suppression_rules();
  absl::MutexLock lock(&rules.mutex);
  rules.kinds = std::move(kinds);
  rules.sites = std::move(sites);
  rules.any = !rules.kinds.empty() || !rules.sites.empty();
}

bool is_suppressed(const Diagnostic& diagnostic) noexcept {
  SuppressionRules& rules = suppression_rules();
  absl::MutexLock lock(&rules.mutex);
  if (!rules.any) return false;
  try {
    for (const std::string& kind : rules.kinds) {
      if (kind == diagnostic.kind) return true;
    }
    if (rules.sites.empty() || diagnostic.allocation_trace == kNoTrace) return false;
    for (const Frame& frame : symbolize_trace(diagnostic.allocation_trace)) {
      const std::string text =
          frame.function + " at " + frame.file + ":" + std::to_string(frame.line);
      for (const std::regex& site : rules.sites) {
        if (std::regex_search(text, site)) return true;
      }
    }
  } catch (...) {
    // A regex that runs out of resources suppresses nothing: report rather than lose.
  }
  return false;
}

}  // namespace internal
RESTRACK_NAMESPACE_END

RESTRACK_NAMESPACE_BEGIN

bool is_suppressed(std::string_view kind, TraceId allocation_trace) noexcept {
  Diagnostic diagnostic;
  diagnostic.kind = kind;
  diagnostic.allocation_trace = allocation_trace;
  return internal::is_suppressed(diagnostic);
}

RESTRACK_NAMESPACE_END
