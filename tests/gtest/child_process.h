// Runs a child test program and captures what it printed (child_process_posix.cc,
// child_process_windows.cc).
#pragma once

#include <string>
#include <vector>

struct ChildResult {
  int exit_code = -1;  // the exit status, or 128 + signal number if it was killed
  std::string out;
  std::string err;
};

// Runs `program` with `arguments` plus --gtest_color=no and --gtest_print_time=0, so the
// output is plain text without timings. The child sees the driver's environment without
// any GTEST_* or RESTRACK_* variable, plus `environment` ("NAME=value" each).
ChildResult run_child(const std::string& program, const std::vector<std::string>& arguments,
                      const std::vector<std::string>& environment = {});
