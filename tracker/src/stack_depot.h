// StackDepot: the process-wide store of interned traces. Identical traces are stored
// once and named by a small TraceId; lookups of a known trace take no lock. The depot is
// never destroyed and never frees a trace, so a TraceId and the span it resolves to stay
// valid for the life of the process, during static destruction too.
#pragma once

#include "restrack/config.h"

#include <cstdint>
#include <span>

#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Interns `frames`; returns kNoTrace for an empty trace or when the depot is full.
TraceId intern_trace(const std::uintptr_t* frames, int count) noexcept;

// The frames of an interned trace; empty for kNoTrace or an unknown id.
std::span<const std::uintptr_t> depot_frames(TraceId id) noexcept;

// Number of distinct traces stored.
std::uint32_t depot_size() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
