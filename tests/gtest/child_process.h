// Runs a child test program and captures what it printed (support/process.h).
#pragma once

#include <string>
#include <vector>

#include "support/process.h"

using ChildResult = ProcessResult;

// Runs `program` with `arguments` plus --gtest_color=no and --gtest_print_time=0, so the
// output is plain text without timings.
inline ChildResult run_child(const std::string& program, std::vector<std::string> arguments,
                             const std::vector<std::string>& environment = {}) {
  arguments.emplace_back("--gtest_color=no");
  arguments.emplace_back("--gtest_print_time=0");
  return run_process(program, arguments, environment);
}
