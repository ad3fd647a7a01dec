// The outputs of restrack-report: text for people, the merged model as JSON, SARIF 2.1.0
// for code-scanning UIs, and one self-contained HTML page. Each returns the whole
// document; docs/report-tool.md shows and specifies them.
#pragma once

#include <cstddef>
#include <string>

#include "model.h"

namespace restrack::report {

// Version of the merged JSON output ("schema": "restrack-report-merged").
inline constexpr int kMergedJsonVersion = 1;

// The ResourceWarning text of one problem, as the tracker prints it:
//   tests/x.cc:16: ResourceWarning: unclosed handle <fd=3 /etc/hostname>
//   Object allocated at (most recent call first):
//     #0 open_config() at tests/x.cc:8
std::string warning_text(const Report& report, const Problem& problem);

// The problem an example reference names.
const Problem& problem_at(const Merged& merged, const ProblemRef& ref);

// "unclosed", "closed twice", "used after close", "open at exit", "destroyed pending".
std::string problem_label(ProblemType type);

// "14 problems at 5 sites (2 new) in 9 processes of 3 programs, from 10 reports".
std::string summary_line(const Merged& merged);

struct TextOptions {
  bool color = false;    // ANSI colours (a terminal)
  std::size_t top = 10;  // sites shown with their traces
};
std::string write_text(const Merged& merged, const TextOptions& options);

std::string write_json(const Merged& merged);

// Locations are made relative to `source_root` (an absolute directory) and given the
// uriBaseId SRCROOT; paths outside it become absolute file URIs.
std::string write_sarif(const Merged& merged, const std::string& source_root);

std::string write_html(const Merged& merged);

}  // namespace restrack::report
