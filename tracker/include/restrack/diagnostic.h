// restrack/diagnostic.h — what the tracker reports, and who receives it.
//
// Every problem the tracker finds becomes one Diagnostic record. The record goes to
// every installed DiagnosticHandler: the default one writes the ResourceWarning text
// through the `restrack` spdlog logger (stderr unless you change its sinks), the JSON
// report collects it, the GoogleTest listener fails the running test with it, and your
// own tools can subscribe too. Which records are dispatched at all is decided by the
// `action` option and the suppressions (restrack/options.h, restrack/suppressions.h).
//
// The text a user reads (format_diagnostic):
//
//   tools/demo/demo.cc:57: ResourceWarning: unclosed socket <tcp fd=7 ...>
//   Object allocated at (most recent call first):
//     #0 open_client() at tools/demo/demo.cc:31
//     #1 main at tools/demo/demo.cc:52
//
// The first location is where the object was destroyed (closed again, used, or, for
// open_at_exit, allocated): the first frame outside restrack.
//
// The problems restrack-run finds with raw descriptors read
//   app.c:12: ResourceWarning: file closed while not open <fd=5 (closed)>
// followed by "First closed at (most recent call first):" when the descriptor was closed
// before, and
//   app.cc:40: ResourceWarning: file closed behind its owner's back <fd=5 /tmp/x>
// followed by the owner's allocation trace and "Closed at (most recent call first):" with
// the whole trace of the close.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "restrack/config.h"
#include "restrack/kind.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN

struct ResourceInfo;

enum class DiagnosticType : std::uint8_t {
  unclosed,                   // destroyed while still open; restrack closed it
  closed_twice,               // close() on an already closed resource
  used_after_close,           // an operation on a closed resource
  open_at_exit,               // still open when the process exits (report_at_exit=1)
  destroyed_pending,          // destroyed while its work was pending (a task)
  exception_never_retrieved,  // a task failed and was destroyed before anyone saw its error
  // Raised by restrack-run (docs/restrack-run.md), which tracks raw descriptors:
  closed_not_open,      // close() of a descriptor that was not open (a double close)
  closed_behind_owner,  // close() of a descriptor a restrack owner (a TrackedFd) still holds
};

// "unclosed", "closed_twice", "used_after_close", "open_at_exit", "destroyed_pending",
// "exception_never_retrieved", "closed_not_open", "closed_behind_owner": the names used in
// the JSON report.
std::string_view to_string(DiagnosticType type) noexcept;

struct Diagnostic {
  DiagnosticType type = DiagnosticType::unclosed;
  std::string_view kind;    // Kind::name; points at static storage
  std::string description;  // the text between < and >
  TraceId allocation_trace = kNoTrace;
  TraceId first_close_trace = kNoTrace;  // closed_twice, used_after_close, closed_not_open
  TraceId site_trace = kNoTrace;         // where it was destroyed / closed again / used
  std::uint64_t thread_id = 0;           // OS id of the thread that opened it
  std::chrono::nanoseconds age{0};       // time from open to this report
  std::uint64_t serial = 0;              // the open's serial (see ResourceInfo::serial)
};

// Receives dispatched diagnostics. Called on the thread where the problem happened,
// possibly during static destruction, possibly from several threads at once; must not
// throw and must not block for long. No tracker lock is held while it runs, so it may
// close or open tracked resources, add or remove handlers (itself included), or exit the
// process. A diagnostic raised by a handler on its own thread is dispatched once the
// handlers of the current one have returned; more than 64 waiting on one thread are
// dropped and counted (DiagnosticCounts::dropped).
class DiagnosticHandler {
 public:
  virtual ~DiagnosticHandler() = default;
  virtual void on_diagnostic(const Diagnostic& diagnostic) noexcept = 0;
};

// Installs a handler (at most 32). The handler must stay alive until it is removed.
void add_handler(DiagnosticHandler* handler) noexcept;
// Removes a handler; after return it is no longer called (a dispatch on another thread
// that is calling it is waited for, unless it is the caller's own).
void remove_handler(DiagnosticHandler* handler) noexcept;

// Turns the default handler (the `restrack` logger) on or off. Tests that capture
// diagnostics with their own handler switch it off to keep stderr quiet.
void set_default_output(bool enabled) noexcept;

// The full ResourceWarning text for a diagnostic, without a trailing newline. Control
// characters in the description are escaped (\n, \t, \xHH), so one warning stays one
// block of text.
std::string format_diagnostic(const Diagnostic& diagnostic) noexcept;

// The same text for a resource that is still open, with `how` in place of the problem:
// "socket left open by test Net.Connects" — located at its allocation site.
std::string format_open_resource(const ResourceInfo& resource, std::string_view how) noexcept;

// The "  #0 function at file:line" lines of a trace, each ending in '\n'; empty for
// kNoTrace. A frame without line information reads "  #1 function in module+0xOFFSET".
std::string format_trace(TraceId id) noexcept;

// The first line's location for a trace: "tools/demo/demo.cc:57"; "<exit>" when the
// first frame past restrack is the C library running static destructors at exit;
// "<unknown>" when no frame has a source line.
std::string format_location(TraceId id) noexcept;

// The location of the first frame of user code at a return address (from
// __builtin_return_address): "src/app.cc:42", or "<unknown>".
std::string format_return_address_location(std::uintptr_t return_address) noexcept;

// Dispatches a problem found after a resource was closed — a task whose exception nobody
// retrieved — about a resource of `kind` allocated at `allocation_trace`; where it is
// reported from is captured here. Does nothing when tracking is compiled out.
void report_diagnostic(DiagnosticType type, const Kind& kind, std::string description,
                       TraceId allocation_trace) noexcept;

// Number of diagnostics dispatched with action=error since start (or the last reset).
std::uint64_t error_count() noexcept;
struct DiagnosticCounts {
  std::uint64_t dispatched = 0;
  std::uint64_t suppressed = 0;
  std::uint64_t repeated = 0;  // not dispatched because action=once saw the site before
  std::uint64_t errors = 0;
  std::uint64_t dropped = 0;  // raised inside handlers beyond what could wait (see above)
};
DiagnosticCounts diagnostic_counts() noexcept;
void reset_diagnostic_counts() noexcept;

RESTRACK_NAMESPACE_END
