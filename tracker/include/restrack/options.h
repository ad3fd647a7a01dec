// restrack/options.h — run-time settings.
//
// Set them with the environment variable RESTRACK_OPTIONS, colon-separated key=value
// pairs in the sanitizers' style, read once when the tracker first starts:
//
//   RESTRACK_OPTIONS=trace_depth=32:action=error:exit_code=3:report=/tmp/leaks.%p.json
//
// or from C++ with set_options(). A bad key or value produces one message naming it
// (on the `restrack` logger) and that setting keeps its default; the rest apply.
//
//   key             values                               default
//   enabled         0 | 1                                1
//   trace_depth     0..64 frames per trace, 0 = none     16
//   capture         fp | dwarf                           fp
//   action          ignore | warn | once | error | abort warn
//   report          path of a JSON report written at exit ("%p" = pid, "%%" = %)  (none)
//   report_at_exit  0 | 1: list resources still open at exit             0
//   exit_code       0..255: exit status forced at exit when an error was counted; 0 = never
//   suppressions    path of a suppressions file                          (none)
//
// Actions: ignore drops every diagnostic; warn dispatches each; once dispatches the first
// per allocation site and kind of problem; error dispatches each and counts it as a
// failure (see exit_code); abort dispatches and then calls std::abort().
//
// Suppressions files are described in restrack/suppressions.h; the JSON report in
// restrack/report.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN

enum class Action { ignore, warn, once, error, abort };
enum class CaptureMethod { frame_pointer, dwarf };

// The option values: "ignore", "warn", "once", "error", "abort"; "fp", "dwarf".
std::string_view to_string(Action action) noexcept;
std::string_view to_string(CaptureMethod method) noexcept;

struct Options {
  bool enabled = true;
  int trace_depth = 16;
  CaptureMethod capture = CaptureMethod::frame_pointer;
  Action action = Action::warn;
  std::string report;  // empty: no JSON report
  bool report_at_exit = false;
  int exit_code = 0;
  std::string suppressions;  // empty: none
};

inline constexpr int kMaxTraceDepth = 64;

// Parses an options string ("key=value:key=value") on top of `base`. Each problem is
// appended to `errors` as one message naming the key or value; the affected setting
// keeps its value from `base`.
Options parse_options(std::string_view text, const Options& base, std::vector<std::string>* errors);

// The settings in force. The first call anywhere in the tracker reads RESTRACK_OPTIONS.
Options current_options() noexcept;

// Replaces the settings in force and (re)loads the suppressions file. Values out of
// range, a report path with a NUL byte, and problems with the suppressions file are
// logged, one message each; the affected setting keeps its value and the valid rules
// still apply. Returns false if any were found.
bool set_options(const Options& options) noexcept;

// set_options(parse_options(text, current_options(), ...)), logging each problem.
// Returns false if any were found.
bool apply_options(std::string_view text) noexcept;

RESTRACK_NAMESPACE_END
