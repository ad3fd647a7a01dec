// restrack/trace.h — allocation traces: captured cheaply, symbolized lazily.
//
// A trace is the list of return addresses on the stack when a resource was opened (or
// closed, or destroyed). Capturing stores only those addresses, interned in a
// process-wide depot that keeps each distinct trace once and is never destroyed; a
// resource keeps the small TraceId. Function names, files and lines are looked up only
// when something is reported, once per address.
//
// Capture walks frame pointers by default (tens of nanoseconds for 16 frames). The
// restrack::tracker CMake target adds -fno-omit-frame-pointer to its consumers in
// tracking builds, so their frames are complete; for code built without frame
// pointers, RESTRACK_OPTIONS=capture=dwarf unwinds with the DWARF tables instead
// (microseconds per trace; see docs/PERFORMANCE.md). Symbolization reads the DWARF
// debug information with elfutils' libdw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

// Identifies an interned trace. kNoTrace means "not captured" (trace_depth=0, tracking
// off); kTraceWalkStopped means the frame-pointer walk could not start because the code
// runs on a stack the thread does not own (a fiber or ucontext stack on Linux): use
// capture=dwarf. On Windows both capture modes unwind fibers' stacks.
using TraceId = std::uint32_t;
inline constexpr TraceId kNoTrace = 0;
inline constexpr TraceId kTraceWalkStopped = 0xFFFF'FFFFu;

// One symbolized frame. Fields that could not be resolved are empty (or 0).
struct Frame {
  std::uintptr_t address = 0;  // the return address as captured
  std::string module;          // path of the executable or shared object
  std::uintptr_t offset = 0;   // address relative to the module's load base
  std::string function;        // demangled name
  std::string file;            // source file as recorded in the debug info
  unsigned line = 0;
};

// Captures the calling thread's stack with the configured method and depth and interns
// it. Returns kNoTrace when tracking is off or trace_depth is 0.
TraceId capture_trace() noexcept;

// The raw return addresses of an interned trace, innermost first (empty for kNoTrace).
// The span stays valid for the life of the process.
std::span<const std::uintptr_t> trace_addresses(TraceId id) noexcept;

// The trace as the user reads it: restrack's own leading frames (and the standard
// library frames they called through) dropped, at most trace_depth frames, ending at
// main (or at a file-scope initializer, shown as "<static initializer>").
std::vector<Frame> symbolize_trace(TraceId id) noexcept;

// What the process-wide trace depot holds (never freed: it only grows).
struct DepotStats {
  std::size_t traces = 0;  // distinct traces interned
  std::size_t bytes = 0;   // memory the depot has taken from the system
};
DepotStats depot_stats() noexcept;

// Symbolizes one return address: the frames of the call it returns from, innermost
// first — several when that call sits in functions inlined into one another. Cached per
// address for the life of the process.
std::vector<Frame> symbolize_address(std::uintptr_t address) noexcept;

RESTRACK_NAMESPACE_END
