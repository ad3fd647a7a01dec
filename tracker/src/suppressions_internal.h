// Internal: the suppression rules in force (restrack/suppressions.h) — above
// symbolize/format, which site rules match against; below dispatch, which asks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "restrack/config.h"
#include "restrack/diagnostic.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// True if the rules in force cover the diagnostic. Rules follow the settings: after
// set_options() (or on first use) they are reloaded from the suppressions path, each
// problem logged.
bool is_suppressed(const Diagnostic& diagnostic) noexcept;

// Loads the rules of `path` (empty: none) for the settings of `generation` and puts them
// in force. Each problem is appended to `errors`.
void load_suppressions(const std::string& path, std::uint64_t generation,
                       std::vector<std::string>* errors) noexcept;

// Held across fork().
void lock_suppressions_for_fork() noexcept;
void unlock_suppressions_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
