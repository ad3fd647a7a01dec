// Test support: running a probe program (exit_probe.cc, reliability_probe.cc) as a child
// process and reading back what it printed and how it ended.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace restrack_test {

struct ChildResult {
  int exit_status = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A path in the test's temporary directory, unique to this process.
inline std::string scratch(const std::string& name) {
  return ::testing::TempDir() + "restrack_" + std::to_string(::getpid()) + "_" + name;
}

// Runs `program mode` with RESTRACK_OPTIONS=`options` and the extra `environment`
// assignments ("NAME=value ..."), capturing stdout and stderr.
inline ChildResult run_probe(const std::string& program, const std::string& mode,
                             const std::string& options, const std::string& environment = "") {
  const std::string base = scratch("probe");
  const std::string command = environment + " RESTRACK_OPTIONS='" + options + "' " + program + " " +
                              mode + " >" + base + ".out 2>" + base + ".err";
  ChildResult result;
  const int status = std::system(command.c_str());
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  result.out = read_file(base + ".out");
  result.err = read_file(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return result;
}

}  // namespace restrack_test
