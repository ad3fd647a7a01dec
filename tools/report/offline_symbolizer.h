// Symbolizes frames that a report carries only as module + offset, from the binaries on
// this machine (elfutils libdw), so a report written on a CI machine reads on a
// developer's machine with the same build.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.h"

namespace restrack::report {

class OfflineSymbolizer {
 public:
  // `search_path`: directories where a module is looked for by its file name, in order,
  // before the path the report recorded.
  explicit OfflineSymbolizer(std::vector<std::string> search_path);
  ~OfflineSymbolizer();
  OfflineSymbolizer(const OfflineSymbolizer&) = delete;
  OfflineSymbolizer& operator=(const OfflineSymbolizer&) = delete;

  // The frames of the call that returns to `offset` in `module`, innermost first (more
  // than one where calls were inlined); only function, file and line are set. Empty when
  // the module cannot be used or nothing is known at that address. A module whose
  // recorded `build_id` differs from the binary found is never used.
  const std::vector<Frame>& symbolize(const std::string& module, const std::string& build_id,
                                      std::uint64_t offset);

  // One line for each module that could not be used (missing, build id mismatch,
  // unreadable), in the order they were met; each module is named once.
  const std::vector<std::string>& notes() const { return notes_; }

  // Number of distinct addresses looked up so far.
  std::size_t addresses() const;

 private:
  struct Module;
  struct State;
  Module* module_for(const std::string& path, const std::string& build_id);

  std::vector<std::string> search_path_;
  std::vector<std::string> notes_;
  std::unique_ptr<State> state_;
};

// Symbolizes, in every trace of `report`, the frames that carry no function, file or
// line, then shapes those traces as the tracker would have (trace_rules.h). Traces that
// were symbolized when written are left as they are. Fills the location a problem lacks
// (version 2 gives none for open_at_exit) from its trace, as the tracker does.
void symbolize_report(Report& report, OfflineSymbolizer& symbolizer);

}  // namespace restrack::report
