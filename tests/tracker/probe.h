// Test support: running a probe program (exit_probe.cc, reliability_probe.cc,
// reliability_posix_probe.cc) as a child process, through the tests' one child-process
// runner (support/process.h: posix_spawn, or CreateProcess on Windows).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/process.h"
#include "test_object.h"

namespace restrack_test {

// A path unique to this process, relative to the working directory (the child's too):
// an absolute path on Windows starts with a drive letter, whose ':' would end the value in
// RESTRACK_OPTIONS.
inline std::string scratch(const std::string& name) {
  return "restrack_" + std::to_string(process_id()) + "_" + name;
}

// How many times `needle` occurs in `text` (overlaps included).
inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++found;
  }
  return found;
}

// Runs `program mode` with RESTRACK_OPTIONS=`options` and the extra `environment`
// ("NAME=value" each), capturing its standard output and error.
inline ProcessResult run_probe(const std::string& program, const std::string& mode,
                               const std::string& options,
                               const std::vector<std::string>& environment = {}) {
  std::vector<std::string> variables = {"RESTRACK_OPTIONS=" + options};
  variables.insert(variables.end(), environment.begin(), environment.end());
  return run_process(program, {mode}, variables);
}

}  // namespace restrack_test
