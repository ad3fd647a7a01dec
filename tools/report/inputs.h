// The report files named on the command line: files, directories (searched recursively
// for *.json) and glob(3) patterns, in a stable order.
#pragma once

#include <string>
#include <vector>

namespace restrack::report {

struct InputFiles {
  std::vector<std::string> files;   // in argument order; each directory's and glob's sorted
  std::vector<std::string> errors;  // "PATTERN: no file matches", "DIR: no *.json file"
};

InputFiles expand_inputs(const std::vector<std::string>& arguments);

}  // namespace restrack::report
