#include "restrack/gtest/scoped_check.h"

#include <string>
#include <utility>
#include <vector>

#include "ledger.h"
#include "report.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest {

ScopedLeakCheck::ScopedLeakCheck(const char* file, int line) noexcept
    : file_(file), line_(line), start_(Snapshot::take()) {}

ScopedLeakCheck::~ScopedLeakCheck() {
  internal::Ledger& ledger = internal::Ledger::instance();
  std::vector<ResourceInfo> left_open = start_.opened_since();
  ledger.claim(left_open);
  const ListenerOptions options = ledger.options();
  const internal::Leaks leaks = internal::reportable({}, std::move(left_open), options);
  const std::string where = std::string(file_) + ':' + std::to_string(line_);
  internal::fail_each(internal::entries(leaks, "left open in the scope checked at " + where), file_,
                      line_, "scope checked at " + where, options.report_only);
}

}  // namespace gtest
RESTRACK_NAMESPACE_END
