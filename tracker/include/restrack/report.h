// restrack/report.h — the JSON report (schema in docs/report-format.md).
//
// With `report=PATH` the report is written at exit; write_report() writes one now. It
// holds every dispatched diagnostic, the resources open when it is written, and a table
// of the distinct traces they refer to, with raw addresses plus module, build id and
// offset, so that another machine can symbolize it (restrack-report).
#pragma once

#include <string_view>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

// Writes the JSON report now to `path` ("%p" expands to the process id, "%%" to "%").
// A regular file (or a new one) is replaced atomically; a symbolic link is followed and
// its target written; a FIFO or character device (/dev/stdout) is written into. Returns
// false, after logging one message naming the path and the system's reason, if it cannot
// be written. The at-exit report uses the same writer.
bool write_report(std::string_view path) noexcept;

// From now on, diagnostics dispatched and resources opened are attributed to `label` in
// the report (their "test" field), until the next call; "" clears it. The GoogleTest
// listener sets the running test, "Suite.Name".
void set_report_label(std::string_view label) noexcept;

RESTRACK_NAMESPACE_END
