// Reading restrack JSON reports (schema "restrack-report", versions 1 and 2;
// docs/report-format.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model.h"

namespace restrack::report {

// The newest schema version this reader understands.
inline constexpr int kNewestReportVersion = 2;

// Reads `text` (the contents of `file`) into `report`. On failure returns false and sets
// `error` to one line naming the file and the JSON path of the problem:
//   "shard3/1234.json: $.diagnostics[4].allocation_trace[0].offset: expected a hex string"
// A syntax error (a truncated file) names the path where the parser stopped and the line
// and column. Unknown fields are ignored so that minor additions do not break readers.
bool parse_report(std::string_view text, const std::string& file, Report& report,
                  std::string& error);

// The same for a file on disk; an unreadable file is an error too.
bool read_report_file(const std::string& file, Report& report, std::string& error);

// Reads `files` on up to `threads` threads (files are independent; a CI run has
// hundreds). Reports and skipped files keep the order of `files`.
struct ReadReports {
  std::vector<Report> reports;
  std::vector<Skipped> skipped;
};
ReadReports read_report_files(const std::vector<std::string>& files, unsigned threads);

}  // namespace restrack::report
