// Runs a program as a child process and captures what it printed.
#pragma once

#include <string>
#include <vector>

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number if it was killed
  std::string out;
  std::string err;
};

// Runs `program` with `arguments`. The child sees this process's environment without any
// RESTRACK_*, GTEST_* or NO_COLOR variable, plus `environment` ("NAME=value" each); its
// standard input is /dev/null and its standard output is a file, never a terminal.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& arguments,
                          const std::vector<std::string>& environment = {});
