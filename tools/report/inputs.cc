#include "inputs.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace restrack::report {
namespace {

namespace fs = std::filesystem;

bool is_pattern(const std::string& argument) {
  return argument.find_first_of("*?[") != std::string::npos;
}

// Adds the *.json files under `directory`; false if there are none.
bool add_directory(const std::string& directory, std::vector<std::string>& files) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(directory, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code type_error;
    if (it->is_regular_file(type_error) && it->path().extension() == ".json") {
      found.push_back(it->path().string());
    }
  }
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
  return !found.empty();
}

}  // namespace

InputFiles expand_inputs(const std::vector<std::string>& arguments) {
  InputFiles inputs;
  for (const std::string& argument : arguments) {
    std::error_code ec;
    if (is_pattern(argument) && !fs::exists(argument, ec)) {
      glob_t matches{};
      const int status = ::glob(argument.c_str(), 0, nullptr, &matches);
      if (status == 0) {
        for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
          const std::string match = matches.gl_pathv[i];
          if (fs::is_directory(match, ec)) {
            add_directory(match, inputs.files);
          } else {
            inputs.files.push_back(match);
          }
        }
      } else {
        inputs.errors.push_back(argument + ": no file matches");
      }
      globfree(&matches);
    } else if (fs::is_directory(argument, ec)) {
      if (!add_directory(argument, inputs.files)) {
        inputs.errors.push_back(argument + ": no *.json file in this directory");
      }
    } else {
      inputs.files.push_back(argument);  // a missing file is reported when it is read
    }
  }
  return inputs;
}

}  // namespace restrack::report
