// restrack/suppressions.h — resources restrack must not report.
//
// A suppressions file (option `suppressions=PATH`) has one rule per line; `#` starts a
// comment, blank lines are skipped:
//
//   kind:NAME     never report resources of this kind ("kind:event loop")
//   site:REGEX    never report a resource whose allocation trace has a frame, written
//                 "function at file:line", in which REGEX finds a match
//
// REGEX is RE2 syntax (https://github.com/google/re2/wiki/Syntax): matching takes time
// linear in the frame's length and bounded stack, whatever the pattern, so a rule can
// neither hang a report nor overflow a thread's stack. A pattern RE2 cannot compile
// (bad syntax, nesting too deep, too large), and a line that is neither rule, is
// reported with its file and line number and skipped; an unreadable path or a directory
// is reported once. The other rules still apply.
#pragma once

#include <string_view>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN

// True if the suppressions in force cover a resource of `kind` allocated at
// `allocation_trace` (for tools that report live resources themselves, such as the
// GoogleTest listener).
bool is_suppressed(std::string_view kind, TraceId allocation_trace) noexcept;

RESTRACK_NAMESPACE_END
