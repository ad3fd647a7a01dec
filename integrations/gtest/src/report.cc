#include "report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "restrack/suppressions.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest::internal {

namespace {

bool ignored(std::string_view kind, const ListenerOptions& options) {
  return std::find(options.ignore_kinds.begin(), options.ignore_kinds.end(), kind) !=
         options.ignore_kinds.end();
}

}  // namespace

Leaks reportable(std::vector<Diagnostic> warnings, std::vector<ResourceInfo> left_open,
                 const ListenerOptions& options) {
  // The tracker has already dropped suppressed warnings before dispatching them.
  std::erase_if(warnings,
                [&](const Diagnostic& warning) { return ignored(warning.kind, options); });
  std::erase_if(left_open, [&](const ResourceInfo& resource) {
    return ignored(resource.kind, options) ||
           restrack::is_suppressed(resource.kind, resource.allocation_trace);
  });
  return Leaks{std::move(warnings), std::move(left_open)};
}

std::vector<std::string> entries(const Leaks& leaks, std::string_view how_left) {
  std::vector<std::string> result;
  result.reserve(leaks.warnings.size() + leaks.left_open.size());
  // Warnings first: they were raised before the scope ended.
  for (const Diagnostic& warning : leaks.warnings) {
    result.push_back(format_diagnostic(warning));
  }
  for (const ResourceInfo& resource : leaks.left_open) {
    result.push_back(format_open_resource(resource, how_left));
  }
  return result;
}

void fail_each(const std::vector<std::string>& entries, const char* file, int line,
               std::string_view scope_name, bool report_only) {
  for (const std::string& entry : entries) {
    if (report_only) {
      std::printf("[  LEAKED  ] %.*s\n%s\n", static_cast<int>(scope_name.size()), scope_name.data(),
                  entry.c_str());
      std::fflush(stdout);
    } else {
      ADD_FAILURE_AT(file, line) << entry;
    }
  }
}

}  // namespace gtest::internal
RESTRACK_NAMESPACE_END
