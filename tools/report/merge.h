// Merging many reports into sites: the problems of one type and resource kind whose
// allocation traces start at the same user frame, with the distinct whole traces seen
// there, the processes, programs and tests that hit it, and one example.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model.h"

namespace restrack::report {

struct Filters {
  // GoogleTest's filter syntax over test names: "Suite.*:Other.Name-Suite.Flaky"
  // (':'-separated patterns with '*' and '?', negative ones after '-'). Problems blamed
  // on no test have the name "". Empty: every problem.
  std::string tests;
  std::vector<std::string> kinds;  // resource kinds to keep; empty: all
  std::vector<ProblemType> types;  // problem types to keep; empty: all
  // Also count resources in a report's live set (open when it was written) as
  // open_at_exit problems, unless the process already reported them so.
  bool live = false;
};

// True if `test` passes a GoogleTest-style filter.
bool test_filter_matches(std::string_view filter, std::string_view test);

// Groups the problems of merged.reports that pass `filters` into merged.sites, most
// problems first. Sets merged.problems; every site starts out new.
void group_sites(Merged& merged, const Filters& filters);

// "(no test)" for the empty test name, else the name.
std::string test_label(std::string_view test);

// The site's first frame as text: "open_socket() at src/client.cc:19", or
// "app+0x2b3c4" for a frame known only by module and offset, or "(no allocation trace;
// reported at src/client.cc:31)".
std::string site_label(const Site& site);

// A trace as baselines record it: "function in file" per frame (no line, so edits above
// a leak do not make it new), or "module+0xOFFSET" for a frame without symbols.
std::vector<std::string> baseline_frames(const Trace& trace);

// One frame as the tracker prints it in a trace, without the "#N ": "f() at file:line",
// "f() in /path/module+0x1c", "0x55d0c1a2b3c4".
std::string frame_text(const Frame& frame);

}  // namespace restrack::report
