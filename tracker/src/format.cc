// The ResourceWarning text of DESIGN.md: one formatter for warnings and for resources
// still open, and the trace lines both use. Formatted traces are kept per trace, so an
// exit report listing many resources from one site formats that site once.
#include <absl/container/flat_hash_map.h>

#include <cstdio>
#include <mutex>

#include "no_destructor.h"
#include "platform.h"
#include "restrack/diagnostic.h"
#include "restrack/live.h"
#include "settings.h"
#include "symbolize.h"
#include "text.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

struct TraceTexts {
  std::mutex mutex;
  // (trace, trace_depth) -> the "  #N ..." lines; the depth decides how many are shown.
  absl::flat_hash_map<std::pair<TraceId, int>, std::string> lines;
};

TraceTexts& trace_texts() noexcept {
  static internal::NoDestructor<TraceTexts> texts;
  return *texts;
}

std::string hex(std::uintptr_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", static_cast<std::size_t>(value));
  return buffer;
}

std::string trace_lines(TraceId id) {
  std::string text;
  int index = 0;
  for (const Frame& frame : symbolize_trace(id)) {
    internal::append(text, "  #", index++, " ",
                     frame.function.empty() ? hex(frame.address) : frame.function);
    if (!frame.file.empty()) {
      internal::append(text, " at ", frame.file, ":", frame.line);
    } else if (!frame.module.empty()) {
      internal::append(text, " in ", frame.module, "+", hex(frame.offset));
    }
    text += '\n';
  }
  return text;
}

// Control characters would break a warning into pieces or drive a terminal: \n, \t, \r
// and \\ keep their C spelling, others become \xHH.
std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

constexpr std::string_view kNoTraceHint =
    "Enable allocation traces (RESTRACK_OPTIONS=trace_depth=16) to see where it was allocated\n";
constexpr std::string_view kWalkStoppedHint =
    "No allocation trace: the frame-pointer walk stopped at a stack restrack does not know (a "
    "fiber or ucontext stack?); unwind with RESTRACK_OPTIONS=capture=dwarf to see where it was "
    "allocated\n";

// "LOCATION: ResourceWarning: HEADLINE <DESCRIPTION>" and the traces below it: the
// allocation trace, then `second` under the heading `second_heading`.
std::string warning_text(TraceId location, std::string_view headline, std::string_view description,
                         TraceId allocation, TraceId second,
                         std::string_view second_heading = "First closed at") {
  std::string text = internal::concat(format_location(location), ": ResourceWarning: ", headline,
                                      " <", escaped(description), ">\n");
  if (allocation == kNoTrace) {
    text += kNoTraceHint;
  } else if (allocation == kTraceWalkStopped) {
    text += kWalkStoppedHint;
  } else {
    internal::append(text, "Object allocated at (most recent call first):\n",
                     format_trace(allocation));
  }
  if (second != kNoTrace) {
    internal::append(text, second_heading, " (most recent call first):\n", format_trace(second));
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

std::string_view to_string(DiagnosticType type) noexcept {
  switch (type) {
    case DiagnosticType::unclosed:
      return "unclosed";
    case DiagnosticType::closed_twice:
      return "closed_twice";
    case DiagnosticType::used_after_close:
      return "used_after_close";
    case DiagnosticType::open_at_exit:
      return "open_at_exit";
    case DiagnosticType::destroyed_pending:
      return "destroyed_pending";
    case DiagnosticType::exception_never_retrieved:
      return "exception_never_retrieved";
    case DiagnosticType::closed_not_open:
      return "closed_not_open";
    case DiagnosticType::closed_behind_owner:
      return "closed_behind_owner";
  }
  return "unknown";
}

std::string format_trace(TraceId id) noexcept {
  if (id == kNoTrace || id == kTraceWalkStopped) return {};
  try {
    TraceTexts& texts = trace_texts();
    const auto key = std::make_pair(id, internal::hot_settings().trace_depth());
    {
      std::lock_guard lock(texts.mutex);
      const auto found = texts.lines.find(key);
      if (found != texts.lines.end()) return found->second;
    }
    std::string text = trace_lines(id);
    // Only a trace whose every frame was resolved is final; one symbolized while the
    // symbols could not be read is formatted again next time.
    bool resolved = true;
    for (const Frame& frame : symbolize_trace(id)) resolved = resolved && !frame.function.empty();
    if (resolved) {
      std::lock_guard lock(texts.mutex);
      texts.lines.emplace(key, text);
    }
    return text;
  } catch (...) {
    return {};
  }
}

std::string format_location(TraceId id) noexcept {
  try {
    for (const Frame& frame : symbolize_trace(id)) {
      // Destroyed by the exit machinery, with no user frame in between (a static
      // object): the C library's source line would only mislead.
      if (internal::is_process_exit_frame(frame.function)) return "<exit>";
      if (!frame.file.empty()) return internal::concat(frame.file, ":", frame.line);
    }
  } catch (...) {
  }
  return "<unknown>";
}

std::string format_return_address_location(std::uintptr_t return_address) noexcept {
  try {
    for (const Frame& frame : symbolize_address(return_address)) {
      if (!internal::is_library_frame(frame) && !frame.file.empty()) {
        return internal::concat(frame.file, ":", frame.line);
      }
    }
  } catch (...) {
  }
  return "<unknown>";
}

std::string format_diagnostic(const Diagnostic& diagnostic) noexcept {
  try {
    // The location of the first line: where it happened, or for a resource still open at
    // exit, where it was allocated.
    const TraceId where = diagnostic.type == DiagnosticType::open_at_exit
                              ? diagnostic.allocation_trace
                              : diagnostic.site_trace;
    const bool misuse = diagnostic.type == DiagnosticType::closed_twice ||
                        diagnostic.type == DiagnosticType::used_after_close ||
                        diagnostic.type == DiagnosticType::closed_not_open;
    const bool behind_owner = diagnostic.type == DiagnosticType::closed_behind_owner;
    internal::prepare_symbols({diagnostic.allocation_trace, diagnostic.site_trace,
                               misuse ? diagnostic.first_close_trace : kNoTrace});
    std::string headline;
    switch (diagnostic.type) {
      case DiagnosticType::unclosed:
        headline = internal::concat("unclosed ", diagnostic.kind);
        break;
      case DiagnosticType::closed_twice:
        headline = internal::concat(diagnostic.kind, " closed twice");
        break;
      case DiagnosticType::used_after_close:
        headline = internal::concat(diagnostic.kind, " used after close");
        break;
      case DiagnosticType::open_at_exit:
        headline = internal::concat(diagnostic.kind, " still open at exit");
        break;
      case DiagnosticType::destroyed_pending:
        headline = internal::concat(diagnostic.kind, " was destroyed but it is pending");
        break;
      case DiagnosticType::exception_never_retrieved:
        headline = internal::concat(diagnostic.kind, " exception was never retrieved");
        break;
      case DiagnosticType::closed_not_open:
        headline = internal::concat(diagnostic.kind, " closed while not open");
        break;
      case DiagnosticType::closed_behind_owner:
        headline = internal::concat(diagnostic.kind, " closed behind its owner's back");
        break;
    }
    if (behind_owner) {
      // The close happened deep in someone's code, often: its whole trace, not only where.
      return warning_text(where, headline, diagnostic.description, diagnostic.allocation_trace,
                          diagnostic.site_trace, "Closed at");
    }
    return warning_text(where, headline, diagnostic.description, diagnostic.allocation_trace,
                        misuse ? diagnostic.first_close_trace : kNoTrace);
  } catch (...) {
    return "ResourceWarning: (out of memory while formatting a diagnostic)";
  }
}

std::string format_open_resource(const ResourceInfo& resource, std::string_view how) noexcept {
  try {
    return warning_text(resource.allocation_trace, internal::concat(resource.kind, " ", how),
                        resource.description, resource.allocation_trace, kNoTrace);
  } catch (...) {
    return "ResourceWarning: (out of memory while formatting a diagnostic)";
  }
}

RESTRACK_NAMESPACE_END
