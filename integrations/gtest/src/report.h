// Internal to restrack::gtest: turning leaks into GoogleTest failures (or, in report-only
// mode, into printed entries).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/gtest/listener.h"
#include "restrack/live.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest::internal {

// What leaked in one scope, already stripped of ignored kinds and suppressed resources.
struct Leaks {
  std::vector<Diagnostic> warnings;
  std::vector<ResourceInfo> left_open;

  bool empty() const { return warnings.empty() && left_open.empty(); }
};

Leaks reportable(std::vector<Diagnostic> warnings, std::vector<ResourceInfo> left_open,
                 const ListenerOptions& options);

// One entry per leak: the tracker's text for a warning; for a resource left open, the
// same shape with `how_left` ("left open by test Suite.Name") in place of the problem:
//
//   tests/x_test.cc:12: ResourceWarning: socket left open by test Net.Connects <fd=5 ...>
//   Object allocated at (most recent call first):
//     #0 Net_Connects_Test::TestBody() at tests/x_test.cc:12
std::vector<std::string> entries(const Leaks& leaks, std::string_view how_left);

// Fails the running test, or the running suite, or the program when neither runs, once per
// entry at `file`:`line` (nullptr: gtest's "unknown file"). With report_only, prints each
// entry under a "[  LEAKED  ] <scope_name>" banner on stdout instead.
void fail_each(const std::vector<std::string>& entries, const char* file, int line,
               std::string_view scope_name, bool report_only);

}  // namespace gtest::internal
RESTRACK_NAMESPACE_END
