// The ResourceWarning text of DESIGN.md.
#include "restrack/diagnostic.h"

RESTRACK_NAMESPACE_BEGIN

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
  }
  return "unknown";
}

std::string format_diagnostic(const Diagnostic& diagnostic) noexcept {
  try {
    std::string text;
    // The location of the first line: where it happened, or for a resource still open
    // at exit, where it was allocated.
    const TraceId where = diagnostic.type == DiagnosticType::open_at_exit
                              ? diagnostic.allocation_trace
                              : diagnostic.site_trace;
    text += format_location(where);
    text += ": ResourceWarning: ";
    switch (diagnostic.type) {
      case DiagnosticType::unclosed:
        text.append("unclosed ").append(diagnostic.kind);
        break;
      case DiagnosticType::closed_twice:
        text.append(diagnostic.kind).append(" closed twice");
        break;
      case DiagnosticType::used_after_close:
        text.append(diagnostic.kind).append(" used after close");
        break;
      case DiagnosticType::open_at_exit:
        text.append(diagnostic.kind).append(" still open at exit");
        break;
      case DiagnosticType::destroyed_pending:
        text.append(diagnostic.kind).append(" was destroyed but it is pending");
        break;
      case DiagnosticType::exception_never_retrieved:
        text.append(diagnostic.kind).append(" exception was never retrieved");
        break;
    }
    text.append(" <").append(diagnostic.description).append(">\n");
    if (diagnostic.allocation_trace == kNoTrace) {
      text +=
          "Enable allocation traces (RESTRACK_OPTIONS=trace_depth=16) to see where it was "
          "allocated\n";
    } else {
      text += "Object allocated at (most recent call first):\n";
      text += format_trace(diagnostic.allocation_trace);
    }
    if (diagnostic.first_close_trace != kNoTrace &&
        (diagnostic.type == DiagnosticType::closed_twice ||
         diagnostic.type == DiagnosticType::used_after_close)) {
      text += "First closed at (most recent call first):\n";
      text += format_trace(diagnostic.first_close_trace);
    }
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  } catch (...) {
    return "ResourceWarning: (out of memory while formatting a diagnostic)";
  }
}

RESTRACK_NAMESPACE_END
