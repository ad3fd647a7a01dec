// RESTRACK_OPTIONS parsing and the names of the option values: pure functions, the lower
// half of the settings layer (settings.cc holds what is in force).
#include <array>
#include <charconv>
#include <string>
#include <utility>

#include "key_value.h"
#include "restrack/options.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

using internal::quoted;

constexpr std::string_view kKnownKeys =
    "enabled, trace_depth, capture, action, report, report_at_exit, exit_code, suppressions";

// One table per enum: the option's spelling of each value, used both ways.
constexpr std::array<std::pair<Action, std::string_view>, 5> kActionNames{{
    {Action::ignore, "ignore"},
    {Action::warn, "warn"},
    {Action::once, "once"},
    {Action::error, "error"},
    {Action::abort, "abort"},
}};
constexpr std::array<std::pair<CaptureMethod, std::string_view>, 2> kCaptureNames{{
    {CaptureMethod::frame_pointer, "fp"},
    {CaptureMethod::dwarf, "dwarf"},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "?";
}

template <class Enum, std::size_t N>
bool value_of(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view name,
              Enum& out) {
  for (const auto& [candidate, spelled] : table) {
    if (spelled == name) {
      out = candidate;
      return true;
    }
  }
  return false;
}

template <std::size_t N>
std::string expected_names(const std::array<std::pair<Action, std::string_view>, N>& table) {
  std::string text;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += i + 1 == N ? " or " : ", ";
    text += table[i].second;
  }
  return text;
}

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

}  // namespace

std::string_view to_string(Action action) noexcept { return name_of(kActionNames, action); }

std::string_view to_string(CaptureMethod method) noexcept { return name_of(kCaptureNames, method); }

Options parse_options(std::string_view text, const Options& base,
                      std::vector<std::string>* errors) {
  Options options = base;
  auto fail = [errors](std::string message) {
    if (errors != nullptr) errors->push_back(std::move(message));
  };
  for (const internal::KeyValue& item : internal::split_key_values(text)) {
    if (!item.has_value) {
      fail(internal::no_value_message(item));
      continue;
    }
    const std::string_view key = item.key;
    const std::string_view value = item.value;
    auto bad_value = [&](std::string_view expected) {
      fail("bad value " + quoted(value) + " for option " + quoted(key) + " (expected " +
           std::string(expected) + ")");
    };
    if (key == "enabled") {
      if (!parse_bool(value, options.enabled)) bad_value("0 or 1");
    } else if (key == "trace_depth") {
      if (!parse_int(value, 0, kMaxTraceDepth, options.trace_depth)) {
        bad_value("a number from 0 to " + std::to_string(kMaxTraceDepth));
      }
    } else if (key == "capture") {
      if (!value_of(kCaptureNames, value, options.capture)) bad_value("fp or dwarf");
    } else if (key == "action") {
      if (!value_of(kActionNames, value, options.action)) bad_value(expected_names(kActionNames));
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

RESTRACK_NAMESPACE_END
