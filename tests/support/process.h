// Test support: runs a program as a child process and captures what it printed
// (process_posix.cc: posix_spawn; process_windows.cc: CreateProcess). Used by the tests
// that check a whole program's output: the GoogleTest integration's, restrack-report's and the
// tracker's probes (tests/tracker/probe.h).
#pragma once

#include <string>
#include <vector>

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number if it was killed
  std::string out;     // on Windows with "\r\n" made "\n", as the tests compare text
  std::string err;
};

// Runs `program` with `arguments`. The child sees this process's environment without any
// RESTRACK_*, GTEST_* or NO_COLOR variable, plus `environment` ("NAME=value" each); its
// standard output and error are files, never a terminal; on POSIX its standard input is
// /dev/null and it inherits no other descriptor of this process.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& arguments,
                          const std::vector<std::string>& environment = {});
