// Internal: building text from pieces — strings, string views and numbers — on fmt (the
// formatting library spdlog is built on). Debian's Abseil keeps absl::string_view a type
// of its own, so absl::StrCat does not take std::string_view.
#pragma once

#include <fmt/format.h>

#include <iterator>
#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

template <class... Parts>
void append(std::string& out, const Parts&... parts) {
  (fmt::format_to(std::back_inserter(out), "{}", parts), ...);
}

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  append(out, parts...);
  return out;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
