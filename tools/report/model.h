// The data restrack-report works on: the reports it read (one per process), and the
// merged view it writes (problems grouped by allocation site).
//
// Internal to the tool; the JSON forms are documented in docs/report-format.md (input)
// and docs/report-tool.md (output).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace restrack::report {

// "X_base64" siblings of a JSON string field whose bytes were not valid UTF-8, kept so
// the merged JSON output can carry them on. Names without the suffix.
using RawFields = std::vector<std::pair<std::string, std::string>>;

struct Frame {
  std::uint64_t address = 0;  // return address as captured in the process
  std::string module;         // path of the executable or shared object
  std::string build_id;       // hex of its GNU build-id note; empty when unknown
  std::uint64_t offset = 0;   // address minus the module's load base
  std::string function;       // demangled; empty when not symbolized
  std::string file;
  unsigned line = 0;
  RawFields raw;

  bool symbolized() const { return !function.empty() || !file.empty() || line != 0; }
};

using Trace = std::vector<Frame>;

// The problems the tracker reports, named as in the JSON report.
enum class ProblemType : std::uint8_t {
  unclosed,
  closed_twice,
  used_after_close,
  open_at_exit,
  destroyed_pending,
  exception_never_retrieved,
  closed_not_open,      // restrack-run: a descriptor closed while not open
  closed_behind_owner,  // restrack-run: closed while a TrackedFd held it
};
inline constexpr int kProblemTypeCount = 8;

const char* to_string(ProblemType type);
// False for a name the schema does not know.
bool parse_problem_type(std::string_view name, ProblemType& type);

// Index into Report::traces; 0 is "no trace".
using TraceIndex = std::uint32_t;

// One diagnostic of one process.
struct Problem {
  ProblemType type = ProblemType::unclosed;
  std::string kind;
  std::string description;
  std::string location;  // "file:line", "<exit>" or "<unknown>"
  std::string test;      // Suite.Name it was blamed on; empty when unknown
  std::uint64_t thread = 0;
  std::uint64_t serial = 0;
  std::int64_t age_ns = 0;
  TraceIndex allocation = 0;
  TraceIndex site = 0;
  TraceIndex first_close = 0;
  RawFields raw;
};

// One report file: one process.
struct Report {
  std::string file;  // as named on the command line or found in a directory
  int version = 0;
  std::int64_t pid = 0;
  std::string program;
  int trace_depth = 16;
  std::uint64_t not_recorded = 0;  // diagnostics the process could not keep
  std::vector<Trace> traces{1};    // traces[0] is the empty "no trace"
  std::vector<Problem> problems;   // diagnostics, in the order they happened
  std::vector<Problem> live;       // still open when the report was written
};

// ---- The merged view -------------------------------------------------------------------

// A problem as it appears in the merged view: which report, which entry.
struct ProblemRef {
  std::uint32_t report = 0;
  std::uint32_t index = 0;
  bool live = false;  // from Report::live (--live) rather than Report::problems
};

enum class SiteStatus : std::uint8_t { unknown, known, added };

// One distinct whole allocation trace seen at a site, with how often. Baselines record
// these: a wrapper class's constructor is the first frame of all its resources, so the
// call path, not the first frame alone, tells a new leak from a known one.
struct SiteTrace {
  Trace frames;
  std::uint64_t count = 0;
  std::string fingerprint;  // type, kind, and each frame's function and file (not lines)
  SiteStatus status = SiteStatus::unknown;
};

struct Count {
  std::string name;
  std::uint64_t count = 0;
};

// All problems of one type and resource kind whose allocation trace starts at the same
// user frame (or, without a trace, that were reported at the same location).
struct Site {
  std::string fingerprint;  // type, kind, first frame's function and file: stable across runs
  ProblemType type = ProblemType::unclosed;
  std::string kind;
  Frame top;             // first user frame of the allocation; empty without a trace
  std::string location;  // where it was reported, for sites without a trace
  std::uint64_t count = 0;
  std::uint64_t processes = 0;
  std::vector<Count> programs;              // program path -> processes, most first
  std::vector<Count> tests;                 // test name -> problems, most first; "" = no test
  std::vector<SiteTrace> traces;            // most frequent first
  ProblemRef example;                       // the first occurrence in input order
  SiteStatus status = SiteStatus::unknown;  // added when any of its traces is
};

// A baseline entry (one allocation trace of a site) no longer seen.
struct FixedSite {
  std::string fingerprint;
  std::string type;
  std::string kind;
  std::vector<std::string> trace;  // "function in file" per frame, innermost first
};

struct Skipped {
  std::string file;
  std::string error;  // the whole message: "FILE: $.path: what"
};

struct Merged {
  std::vector<Report> reports;
  std::vector<Skipped> skipped;
  std::vector<Site> sites;  // most problems first
  std::vector<FixedSite> fixed;
  bool baseline_used = false;
  std::uint64_t problems = 0;
  std::uint64_t new_problems = 0;  // with traces absent from the baseline (all without one)
  std::uint64_t new_sites = 0;     // sites with such a trace
};

}  // namespace restrack::report
